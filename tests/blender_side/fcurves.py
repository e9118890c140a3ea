"""An Action's F-curves on any Blender the add-on supports: layered actions (4.4+, the only kind from 5.0)
keep them in channel bags; 4.2 and 4.3 keep them on `Action.fcurves`."""
from __future__ import annotations


def action_fcurves(action) -> list:
    if hasattr(action, "layers"):
        return [fc for lay in action.layers for st in lay.strips for bag in st.channelbags for fc in bag.fcurves]
    return list(action.fcurves)
