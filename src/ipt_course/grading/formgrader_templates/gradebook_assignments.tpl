{#- The course's manual-grading page: modules by number and title, in course order (nbgrader's lists ids A-Z). -#}
{%- extends 'gradebook_base.tpl' -%}

{%- block head -%}
<script src="{{ base_url }}/formgrader/static/js/gradebook_assignments.js"></script>
<script>
var iptModules = {{ ipt_modules | tojson }};
(function () {
    var render = AssignmentUI.prototype.render;
    AssignmentUI.prototype.render = function () {
        render.apply(this, arguments);
        var module = iptModules[this.model.get("name")];
        if (module) {
            this.$name.attr("data-order", module.order);
            this.$name.find("a").text(module.label);
        }
    };
})();
</script>
{%- endblock -%}

{%- block breadcrumbs -%}
<ol class="breadcrumb">
  <li class="active">Manual Grading: choose a module</li>
</ol>
{%- endblock -%}

{%- block table_header -%}
<tr>
  <th>Module</th>
  <th class="text-center">Due Date</th>
  <th class="text-center">Submissions</th>
  <th class="text-center">Score</th>
</tr>
{%- endblock -%}

{%- block table_body -%}
<tr><td colspan="4">Loading, please wait...</td></tr>
{%- endblock -%}
