{#- A module's notebooks: the role-plays first, in words (nbgrader shows notebook ids A-Z). -#}
{%- extends 'gradebook_base.tpl' -%}

{%- block head -%}
<script>
var assignment_id = {{ assignment_id | tojson }};
var iptNotebooks = {{ ipt_notebooks | tojson }};
</script>
<script src="{{ base_url }}/formgrader/static/js/gradebook_notebooks.js"></script>
<script>
(function () {
    var render = NotebookUI.prototype.render;
    NotebookUI.prototype.render = function () {
        render.apply(this, arguments);
        var name = this.model.get("name"), label = iptNotebooks[name];
        if (label) {
            this.$name.attr("data-order", name === "roleplay" ? "0" : "1" + name);
            this.$name.find("a").text(label);
        }
    };
})();
</script>
{%- endblock head -%}

{%- block breadcrumbs -%}
<ol class="breadcrumb">
  <li><a href="{{ base_url }}/formgrader/gradebook">Manual Grading</a></li>
  <li class="active">{{ ipt_modules.get(assignment_id, {}).get("label", assignment_id) }}</li>
</ol>
{%- endblock -%}

{%- block table_header -%}
<tr>
  <th>What to grade</th>
  <th class="text-center">Avg. Score</th>
  <th class="text-center">Avg. Code Score</th>
  <th class="text-center">Avg. Written Score</th>
  <th class="text-center">Avg. Task Score</th>
  <th class="text-center">Needs Manual Grade?</th>
</tr>
{%- endblock -%}

{%- block table_body -%}
<tr><td colspan="6">Loading, please wait...</td></tr>
{%- endblock -%}
