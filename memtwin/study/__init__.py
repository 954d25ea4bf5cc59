"""Design-space studies: sweep spec fields and workloads, on all cores or a Dask cluster.

::

    from memtwin.study import load_study, run_study, read_results, spec_variant
    study = load_study("examples/studies/adc_bits_x_mux.yaml")
    run_study(study, "results/")                 # LocalCluster, one worker per core
    table = read_results("results/")             # a pyarrow Table, one row per point x workload x seed
    spec = spec_variant("default", {"tile.adc.bits": 6, "tile.adc.e_convert_pj": "auto"})

Reference: ``docs/studies.md``.
"""

from memtwin.study.points import Point, Task, expand, tasks
from memtwin.study.results import ResultSink, read_results, read_rows
from memtwin.study.runner import StudyRun, run_study
from memtwin.study.studyfile import Axis, Study, StudyError, load_study, loads_study
from memtwin.study.variants import spec_hash, spec_variant
from memtwin.study.workloads import Option, Workload, get_workload, register_workload

__all__ = ["Axis", "Option", "Point", "ResultSink", "Study", "StudyError", "StudyRun", "Task", "Workload", "expand",
           "get_workload", "load_study", "loads_study", "read_results", "read_rows", "register_workload", "run_study",
           "spec_hash", "spec_variant", "tasks"]
