"""Render the baked character through the matched camera, headless, for an overlay on the video.

How an animator checks a bake is by eye: the character drawn over the footage. This renders RGBA frames
(transparent film, so the caller can lay them over the video's own frames) with Cycles on the CPU: EEVEE
and Workbench need a GPU context (Mesa EGL at least), Cycles runs anywhere, and at 540p with a handful of
samples it takes a fraction of a second per frame on two cores (bench/results/rigs.md).

Every mesh is drawn with one plain material (`view_layer.material_override`): imported characters often
arrive with materials that render invisible (alpha 0, missing textures), and an overlay must show the
shape whatever the materials say. The scene's own render settings are restored afterwards.
"""
from __future__ import annotations

from pathlib import Path

import bpy

#: Cycles samples per pixel: the material is self-lit, so samples only smooth the edges; the cost is per
#: sample (0.10 s/frame at 1, 0.52 s at 8 on the 2-core box, RobotExpressive at 540p)
PREVIEW_SAMPLES = 2
#: preview height in pixels (540p: half of 1080p, the size the overlay video is written at)
PREVIEW_HEIGHT = 540
OVERRIDE_MATERIAL = "PoseBake Preview"


def _override_material() -> "bpy.types.Material":
    """One self-lit orange for every mesh, darker where the surface turns away from the camera (a
    "facing" ramp): shading without lights, so no sampling noise even at one or two samples."""
    mat = bpy.data.materials.get(OVERRIDE_MATERIAL) or bpy.data.materials.new(OVERRIDE_MATERIAL)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    facing = nodes.new("ShaderNodeLayerWeight")
    ramp = nodes.new("ShaderNodeValToRGB")
    ramp.color_ramp.elements[0].color = (1.0, 0.5, 0.1, 1.0)  # orange reads well over most footage
    ramp.color_ramp.elements[1].color = (0.35, 0.12, 0.02, 1.0)
    emission = nodes.new("ShaderNodeEmission")
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(facing.outputs["Facing"], ramp.inputs["Fac"])
    links.new(ramp.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    return mat


def render_frames(scene, frames: list[int], out_dir: str | Path, height: int = PREVIEW_HEIGHT,
                  samples: int = PREVIEW_SAMPLES) -> list[Path]:
    """Render `frames` of `scene` through its camera as RGBA PNGs in `out_dir` (frame_00012.png ...)."""
    if scene.camera is None:
        raise RuntimeError("the scene has no camera to render the preview through (bake with --camera)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    r = scene.render
    saved = {"engine": r.engine, "film_transparent": r.film_transparent, "x": r.resolution_x,
             "y": r.resolution_y, "pct": r.resolution_percentage, "path": r.filepath,
             "format": r.image_settings.file_format, "mode": r.image_settings.color_mode,
             "override": bpy.context.view_layer.material_override, "frame": scene.frame_current,
             "persistent": r.use_persistent_data, "bounces": scene.cycles.max_bounces,
             "samples": scene.cycles.samples, "denoise": scene.cycles.use_denoising,
             "adaptive": scene.cycles.use_adaptive_sampling, "device": scene.cycles.device}
    scale = height / float(r.resolution_y)
    try:
        r.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = samples
        scene.cycles.use_denoising = False
        scene.cycles.max_bounces = 0  # the material emits: nothing to bounce
        scene.cycles.use_adaptive_sampling = False
        r.film_transparent = True
        r.use_persistent_data = True  # keep the scene's render data between frames; only poses change
        r.resolution_x, r.resolution_y = max(2, round(r.resolution_x * scale)), height
        r.resolution_percentage = 100
        r.image_settings.file_format = "PNG"
        r.image_settings.color_mode = "RGBA"
        bpy.context.view_layer.material_override = _override_material()
        paths = []
        for f in frames:
            scene.frame_set(int(f))
            path = out / f"frame_{int(f):05d}.png"
            r.filepath = str(path)
            bpy.ops.render.render(write_still=True)
            paths.append(path)
        return paths
    finally:
        r.engine, r.film_transparent = saved["engine"], saved["film_transparent"]
        r.use_persistent_data = saved["persistent"]
        r.resolution_x, r.resolution_y, r.resolution_percentage = saved["x"], saved["y"], saved["pct"]
        r.filepath, r.image_settings.file_format = saved["path"], saved["format"]
        r.image_settings.color_mode = saved["mode"]
        bpy.context.view_layer.material_override = saved["override"]
        scene.cycles.max_bounces, scene.cycles.samples = saved["bounces"], saved["samples"]
        scene.cycles.use_denoising, scene.cycles.use_adaptive_sampling = saved["denoise"], saved["adaptive"]
        scene.cycles.device = saved["device"]
        scene.frame_set(saved["frame"])
