"""PoseBake's development tools: training, benchmark and evaluation helpers.

Depends on the runtime (`posebake`) and the core (`posebake_core`); neither ever imports this package
(an import-linter contract in `.importlinter` holds that). Its commands (`posebake eval`,
`posebake train-smoothnet`) reach the CLI through the `posebake.commands` entry-point group, not imports.

- `mocap`: CMU BVH and ASF/AMC readers, forward kinematics (training data for SmoothNet, bench rigs);
- `eval`: accuracy metrics against the rendered ground-truth clips;
- `smoothnet`: SmoothNet training data, noise model, raw-estimate cache, training loop, filter tuning.
"""
