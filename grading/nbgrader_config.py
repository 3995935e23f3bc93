"""nbgrader configuration for the IPT caregiver course; the course root is this folder."""

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "ipt-caregivers"
# Trainees answer in the course app, never in these notebooks; the stubs say so to a trainer who opens one.
c.ClearSolutions.code_stub = {"python": "# Answered in the course app.\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "*(Answered in the course app.)*"
# Answer cells are tiny; a stuck kernel should fail fast rather than hold up a whole workshop's grading.
c.ExecutePreprocessor.timeout = 60
c.Execute.timeout = 60
c.Autograde.create_student = True
# Trainees submit in the course app, not through nbgrader's exchange; the folder only keeps formgrader from warning
# "exchange directory does not exist" on every page.
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)
