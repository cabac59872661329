"""nbgrader configuration for the EM course; nbgrader reads it from the repository root.

solutions/ holds the instructor sources (answers and hidden tests), notebooks/
the student release that nbgrader generates from them.
"""

import os
import warnings

# nbgrader 0.9's gradebook makes SQLAlchemy 2.1 warn on every submission it autogrades
# ("Object of type <SubmittedAssignment> not in session"); the grades are saved all the same.
warnings.filterwarnings("ignore", message=r"Object of type <Submitted\w+> not in session")

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.course_id = "em-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# Local use: the exchange lives inside the course (the system default may be unwritable).
# On the class Hub (`make hub`) every server is told the Hub's exchange instead.
c.Exchange.root = os.environ.get("EM_COURSE_EXCHANGE") or os.path.join(COURSE_ROOT, ".nbgrader", "exchange")
if not os.environ.get("EM_COURSE_EXCHANGE"):
    # nbgrader makes it only on the first release; until then the formgrader says the exchange
    # "does not exist and could not be created" and hides its Release and Collect buttons.
    os.makedirs(c.Exchange.root, exist_ok=True)

# The course's grading (course_grading/): hung or dying kernels, per-cell and
# per-notebook time limits. See docs/instructors.md.
from course_grading import configure  # noqa: E402

configure(c)
