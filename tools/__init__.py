"""Development tools, not part of the installed package (pyproject installs `pipeline*` only): the
synthetic-class generator (`tools.synth`) that made sample_data and feeds the tests and benchmarks. Run
from the repository root (`python -m tools.synth ...`); pytest finds it through its `pythonpath`."""
