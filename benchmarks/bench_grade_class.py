"""A class of 200 graded with `make grade`'s command: 1 job against 2, side by side; memory, disk, feedback.

`make bench-grade-class` (or `.venv/bin/python benchmarks/bench_grade_class.py`)
builds a private course (bench_grade.py's build_template: a snapshot of the course's
code, the release, a seeded mix of right, wrong and blank submissions), then
autogrades the same class with ``python -m course_grading.parallel ASSIGNMENT
--jobs N`` (what ``make grade`` runs), from a fresh copy of the course each time,
for every N of --jobs, in turn, --repeats times (the order alternates: 1 2 2 1 ...,
so a burst of load on the shared machine hits both alike). It reports wall seconds
per notebook (medians over the repeats) and the ratio, checks every grade in the
gradebook (right submissions full marks, blank none, wrong fewer than all), samples
the memory of the grading processes and their sandboxes (sum of RSS over the process
tree, every 0.25 s), and, after the last run, measures the disk the class takes
(submitted/, autograded/, the gradebook) and times ``nbgrader generate_feedback``
for the class (feedback/ on disk).

Options: --students 200, --assignment 04_e_and_m_steps, --jobs 1,2, --repeats 2,
--seed 4, --no-feedback, --output FILE. A run with the defaults writes
benchmarks/latest-grading-class.md. Exit status 1 if a grade failed or is wrong.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_grade as bg  # noqa: E402

ROOT = bg.ROOT


def _children(pid):
    """Every descendant of ``pid`` (from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for child in parents.get(p, []):
            out.append(child)
            todo.append(child)
    return out


def _rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemorySampler(threading.Thread):
    """Peak of the sum of RSS over a process tree, and the largest single process, sampled."""

    def __init__(self, pid, every=0.25):
        super().__init__(daemon=True)
        self.pid, self.every, self.done = pid, every, threading.Event()
        self.peak_total = self.peak_single = 0.0
        self.peak_processes = 0

    def run(self):
        while not self.done.is_set():
            pids = [self.pid] + _children(self.pid)
            sizes = [_rss_mb(p) for p in pids]
            self.peak_total = max(self.peak_total, sum(sizes))
            self.peak_single = max(self.peak_single, max(sizes, default=0.0))
            self.peak_processes = max(self.peak_processes, len(pids))
            self.done.wait(self.every)


def _env(course_root):
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(course_root), env.get("PYTHONPATH")]))  # the snapshot
    return env


def _du_mb(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total / 1e6


def grade_once(template, assignment, jobs, log):
    """A fresh copy of the course graded with `make grade`'s command: a dict of what was measured."""
    root = Path(tempfile.mkdtemp(prefix=f"class-j{jobs}-", dir=template.parent))
    shutil.rmtree(root)
    shutil.copytree(template, root)
    load_before = bg._loadavg()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "course_grading.parallel", assignment, "--jobs", str(jobs)],
                               cwd=root, env=_env(root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = MemorySampler(process.pid)
    sampler.start()
    output = process.communicate()[0]
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    log.write(f"\n===== {jobs} job(s) =====\n{output}")
    summary = [line.rstrip(".") for line in output.splitlines() if " students: " in line and " graded, " in line]
    return {"jobs": jobs, "root": root, "wall": wall, "exit": process.returncode, "summary": summary[-1] if summary else
            "(no summary)", "peak_total_mb": sampler.peak_total, "peak_single_mb": sampler.peak_single,
            "peak_processes": sampler.peak_processes, "load": f"{load_before} / {bg._loadavg()}",
            "output_tail": "\n".join(output.splitlines()[-25:])}


def verdicts(root, plan, sources, assignment, coursedir_autograded="autograded"):
    records = [{"student": s, "assignment": a, "success": (Path(root) / coursedir_autograded / s / a).is_dir()}
               for s, a, *_ in plan]
    checked = bg.check_grades(Path(root), plan, sources, records)
    failures = sum(v[0] == "failure" for v in checked.values())
    wrong = sum(v[0] == "wrong grade" for v in checked.values())
    problems = [f"{s} {a}: {v[1]}" for (s, a), v in sorted(checked.items()) if v[0]]
    return failures, wrong, problems


def feedback(root, assignment):
    """`nbgrader generate_feedback` for the whole class, one process: seconds and feedback/ on disk."""
    start = time.perf_counter()
    result = subprocess.run(["nbgrader", "generate_feedback", assignment], cwd=root, env=_env(root),
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    files = list((Path(root) / "feedback").rglob("*.html"))
    return {"seconds": seconds, "exit": result.returncode, "files": len(files), "mb": _du_mb(Path(root) / "feedback"),
            "tail": "\n".join(result.stderr.splitlines()[-5:])}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--assignment", default="04_e_and_m_steps")
    parser.add_argument("--jobs", default="1,2", help="job counts to compare (default 1,2)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each job count, order alternating (default 2)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--no-feedback", action="store_true", help="do not time generate_feedback")
    parser.add_argument("--output", default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if args.assignment not in bg._assignments():
        parser.error(f"no such assignment: {args.assignment}")
    job_counts = [int(j) for j in args.jobs.split(",")]
    order = []
    for r in range(args.repeats):
        order += job_counts if r % 2 == 0 else job_counts[::-1]
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")

    import nbgrader

    machine = (f"{bg._cpu_model()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
               f"nbgrader {nbgrader.__version__}")
    code = bg.course_code()
    load_start = bg._loadavg()
    print(f"Machine: {machine}; load average at start: {load_start}")
    plan = bg.plan_class(args.students, [args.assignment], args.seed, bg._catalogue())
    runs, problems_all, old_cwd = [], [], os.getcwd()
    with bg.scratch_course("bench-class-", args.keep) as (workdir, template_root):
        log_path = workdir / "runs.log"
        template, sources, _ = bg.build_template(template_root, [args.assignment], plan)
        os.chdir(old_cwd)
        print(f"Class: {args.students} students x 1 assignment ({args.assignment}); runs: "
              f"{', '.join(f'{j} job(s)' for j in order)}", flush=True)
        with open(log_path, "w") as log:
            for i, jobs in enumerate(order):
                print(f"Grading with {jobs} job(s) (load average {bg._loadavg()}) ...", flush=True)
                run = grade_once(template, args.assignment, jobs, log)
                run["failures"], run["wrong"], problems = verdicts(run["root"], plan, sources, args.assignment)
                problems_all += problems
                print(f"  {run['wall']:.1f} s, {run['wall'] / args.students:.3f} s per notebook; {run['summary']}; "
                      f"failures {run['failures']}, wrong grades {run['wrong']}; peak memory "
                      f"{run['peak_total_mb']:.0f} MB (sum of RSS), largest process {run['peak_single_mb']:.0f} MB",
                      flush=True)
                if run["exit"] or problems:
                    print(run["output_tail"])
                    print("\n".join(problems[:10]))
                last = i == len(order) - 1
                if last:
                    disk = {name: _du_mb(run["root"] / name) for name in ("submitted", "autograded")}
                    disk["gradebook"] = (run["root"] / "gradebook.db").stat().st_size / 1e6
                    if not args.no_feedback:
                        print("Generating feedback for the class (one process) ...", flush=True)
                        fb = feedback(run["root"], args.assignment)
                        disk["feedback"] = fb["mb"]
                        print(f"  {fb['seconds']:.1f} s for {fb['files']} files, {fb['mb']:.1f} MB; exit {fb['exit']}")
                    else:
                        fb = None
                runs.append({k: v for k, v in run.items() if k != "root"})
                if not args.keep:
                    shutil.rmtree(run["root"], ignore_errors=True)

    n = args.students
    by_jobs = {j: [r for r in runs if r["jobs"] == j] for j in job_counts}
    med = {j: statistics.median(r["wall"] for r in rs) for j, rs in by_jobs.items()}
    base = job_counts[0]
    lines = ["| run | jobs | wall s | s per notebook | students graded / skipped / failed | failures | wrong grades "
             "| peak memory, sum of RSS (MB) | largest process (MB) | processes at peak | load before / after |",
             "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    for i, r in enumerate(runs, 1):
        counts = r["summary"].split(": ", 1)[-1].split(";")[0]
        lines.append(f"| {i} | {r['jobs']} | {r['wall']:.1f} | {r['wall'] / n:.3f} | {counts} | {r['failures']} "
                     f"| {r['wrong']} | {r['peak_total_mb']:.0f} | {r['peak_single_mb']:.0f} | {r['peak_processes']} "
                     f"| {r['load']} |")
    medians = ["| jobs | runs | median wall s | median s per notebook | ratio to " + f"{base} job{'s' if base > 1 else ''} "
               "(wall) |", "|---:|---:|---:|---:|---:|"]
    for j in job_counts:
        medians.append(f"| {j} | {len(by_jobs[j])} | {med[j]:.1f} | {med[j] / n:.3f} | {med[base] / med[j]:.2f}x |")
    failures = sum(r["failures"] for r in runs)
    wrong = sum(r["wrong"] for r in runs)
    disk_lines = [f"| {name} | {mb:.1f} | {mb * 1000 / n:.0f} |" for name, mb in disk.items()]
    report = "\n".join([
        "# Grading a class: `make grade` (course_grading.parallel) on one assignment",
        "",
        f"Machine: {machine}. Load average at start: {load_start}; at end: {bg._loadavg()}.",
        f"Course: {code} (a snapshot of it is graded).",
        f"Class: {n} students x 1 assignment ({args.assignment}), seed {args.seed} (right "
        f"{bg.SHARE['right']:.0%}, blank {bg.SHARE['blank']:.0%}, the rest wrong). Each run grades a fresh copy of the "
        "course with `python -m course_grading.parallel ASSIGNMENT --jobs N` (what `make grade` runs); wall clock "
        "from the command's start to its end, its jobs' start-up included.",
        "",
        "## Medians",
        "",
        *medians,
        "",
        f"Failures {failures}, wrong grades {wrong} over {len(runs)} runs of {n} notebooks.",
        "",
        "## Runs, in the order they ran",
        "",
        *lines,
        "",
        "Memory: the sum of the resident set sizes of the command, its jobs and their sandboxes, sampled every "
        "0.25 s (shared pages are counted once per process, so this overstates); the largest single process.",
        "",
        f"## Disk and feedback (the last run's course, {n} students)",
        "",
        "| what | MB | MB per 1000 students (x 1000 / " + f"{n}) |",
        "|---|---:|---:|",
        *disk_lines,
        "",
        (f"`nbgrader generate_feedback {args.assignment}` (one process): {fb['seconds']:.1f} s for {fb['files']} "
         f"feedback files, {fb['seconds'] / max(fb['files'], 1):.2f} s per notebook; exit status {fb['exit']}."
         if fb else "Feedback not generated (--no-feedback)."),
        "",
    ])
    print("\n" + report)
    outputs = [Path(args.output)] if args.output else []
    if (args.students == 200 and args.assignment == "04_e_and_m_steps" and args.jobs == "1,2"
            and args.repeats >= 2 and not args.output):
        outputs.append(ROOT / "benchmarks" / "latest-grading-class.md")
    for out in outputs:
        out.write_text(report)
        print(f"Wrote {out}")
    return 0 if failures == 0 and wrong == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
