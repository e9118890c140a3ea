"""PoseBake's core: the one implementation shared by the backend and the Blender add-on.

numpy only (no torch, no bpy, no scipy), so the add-on can ship it inside the extension and the backend
can import it without pulling Blender in. It owns what both sides must agree on:

- `motion`: the Motion file contract (read, validate, write, `joints_world`);
- `skeleton`: the BlazePose landmark table;
- `rot`, `timeseries`: small vectorised rotation and time-series helpers;
- `retarget`: world frame, canonical skeleton, swing-twist solve, foot contacts and lock, bake options;
- `options`: the job-options schema the service, the add-on client and headless jobs all check against.

Layer rules (import-linter, `.importlinter`): this package imports neither torch nor bpy nor the backend.
"""
__version__ = "0.1.0"
