{#- One notebook's submissions: trainees by their roster names ("Asha Devi"), shown from the start. -#}
{%- extends 'gradebook_base.tpl' -%}

{%- block head -%}
<script>
var assignment_id = {{ assignment_id | tojson }};
var notebook_id = {{ notebook_id | tojson }};
</script>

<script src="{{ base_url }}/formgrader/static/js/gradebook_notebook_submissions.js"></script>
<script>
(function () {
    var render = SubmittedNotebookUI.prototype.render;
    SubmittedNotebookUI.prototype.render = function () {
        render.apply(this, arguments);
        var first = this.model.get("first_name") || "", last = this.model.get("last_name") || "";
        var name = (first + " " + last).trim() || this.model.get("student");
        this.$name.find("a.name-shown").text(name);
        this.showName();
    };
    // Bound here, not in an onclick attribute: the page's Content-Security-Policy runs no inline handler.
    $(function () { $("#toggle_names").on("click", toggleAllNames); });
})();
</script>
{%- endblock head -%}

{%- block breadcrumbs -%}
<ol class="breadcrumb">
  <li><a href="{{ base_url }}/formgrader/gradebook">Manual Grading</a></li>
  <li><a href="{{ base_url }}/formgrader/gradebook/{{ assignment_id }}">{{ ipt_modules.get(assignment_id, {}).get("label", assignment_id) }}</a></li>
  <li class="active">{{ ipt_notebooks.get(notebook_id, notebook_id) }}</li>
</ol>
{%- endblock -%}

{%- block messages -%}
<button id="toggle_names">Hide All Names</button>
{%- endblock -%}

{%- block table_header -%}
<tr>
  <th></th>
  <th>Trainee</th>
  <th class="text-center">Overall Score</th>
  <th class="text-center">Code Score</th>
  <th class="text-center">Written Score</th>
  <th class="text-center">Task Score</th>
  <th class="text-center">Needs Manual Grade?</th>
  <th class="text-center">Tests Failed?</th>
  <th class="text-center">Flagged?</th>
</tr>
{%- endblock -%}

{%- block table_body -%}
<tr><td colspan="8">Loading, please wait...</td></tr>
{%- endblock -%}
