"""Blender-side test code: real modules run inside pip bpy by `run.py` (one child runner), never strings.

Each public function takes string arguments and returns a JSON-able dict; tests call them through
`tests.bpychild.run_blender(tmp, "MODULE", "FUNCTION", *args)`.
"""
