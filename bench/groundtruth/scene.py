"""bpy scene building for the ground-truth renders: character import, look, lights, render settings.

Only Blender glue lives here; the maths (retargeting, cameras) is in posebake_dev.mocap.retarget and
cameras.py so it can be tested without Blender.
"""
from __future__ import annotations

import math
from pathlib import Path

import bpy
import numpy as np

from cameras import Preset


def reset_scene() -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def import_character(path: Path) -> tuple[bpy.types.Object, bpy.types.Object]:
    """Import the glb; return (armature, skinned mesh). Stray helper meshes (an Icosphere) are removed."""
    bpy.ops.import_scene.gltf(filepath=str(path))
    arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    meshes = [o for o in bpy.data.objects if o.type == "MESH"]
    body = next(o for o in meshes if any(m.type == "ARMATURE" for m in o.modifiers))
    for o in meshes:
        if o is not body:
            bpy.data.objects.remove(o, do_unlink=True)
    for pb in arm.pose.bones:
        pb.rotation_mode = "QUATERNION"
    return arm, body


def mesh_vertices(obj: bpy.types.Object) -> np.ndarray:
    """World positions (N, 3) of the evaluated (deformed) mesh."""
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg)
    me = ev.to_mesh()
    co = np.empty(len(me.vertices) * 3)
    me.vertices.foreach_get("co", co)
    mw = np.array(ev.matrix_world)
    ev.to_mesh_clear()
    co = co.reshape(-1, 3)
    return co @ mw[:3, :3].T + mw[:3, 3]


def _material(name: str) -> tuple[bpy.types.Material, bpy.types.NodeTree]:
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    return mat, mat.node_tree


def character_look(body: bpy.types.Object, seed: int) -> None:
    """Clothing-like colours: a top and trousers split by height, with a little noise for texture."""
    rng = np.random.default_rng(seed)
    mat, nt = _material("body")
    bsdf = nt.nodes["Principled BSDF"]
    bsdf.inputs["Roughness"].default_value = 0.7
    coord = nt.nodes.new("ShaderNodeTexCoord")
    sep = nt.nodes.new("ShaderNodeSeparateXYZ")
    ramp = nt.nodes.new("ShaderNodeValToRGB")
    # "Generated" coordinates follow the undeformed mesh (0..1 over its bounds), so the split between
    # top and trousers stays on the body whatever the pose
    nt.links.new(coord.outputs["Generated"], sep.inputs[0])
    top, legs = rng.uniform(0.15, 0.8, 3), rng.uniform(0.05, 0.4, 3)
    ramp.color_ramp.elements[0].color = (*legs, 1.0)
    ramp.color_ramp.elements[1].color = (*top, 1.0)
    ramp.color_ramp.interpolation = "CONSTANT"
    ramp.color_ramp.elements[1].position = 0.56
    nt.links.new(sep.outputs["Z"], ramp.inputs["Fac"])
    nt.links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
    body.data.materials.clear()
    body.data.materials.append(mat)


def ground_and_backdrop(preset: Preset) -> None:
    """A large textured ground plane and, for some presets, a coloured wall behind the subject."""
    bpy.ops.mesh.primitive_plane_add(size=80, location=(0, 0, 0))
    ground = bpy.context.active_object
    ground.name = "ground"
    mat, nt = _material("ground")
    bsdf = nt.nodes["Principled BSDF"]
    coord = nt.nodes.new("ShaderNodeTexCoord")
    if preset.ground == "checker":
        tex = nt.nodes.new("ShaderNodeTexChecker")
        tex.inputs["Scale"].default_value = 80.0
        tex.inputs["Color1"].default_value = (0.55, 0.55, 0.5, 1)
        tex.inputs["Color2"].default_value = (0.25, 0.27, 0.25, 1)
    elif preset.ground == "bricks":
        tex = nt.nodes.new("ShaderNodeTexBrick")
        tex.inputs["Scale"].default_value = 60.0
        tex.inputs["Color1"].default_value = (0.45, 0.3, 0.22, 1)
        tex.inputs["Color2"].default_value = (0.35, 0.25, 0.2, 1)
    else:
        noise = nt.nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = 150.0
        tex = nt.nodes.new("ShaderNodeValToRGB")  # grass/earth tones instead of rainbow noise
        tex.color_ramp.elements[0].color = (0.12, 0.2, 0.08, 1)
        tex.color_ramp.elements[1].color = (0.4, 0.36, 0.22, 1)
        nt.links.new(noise.outputs["Fac"], tex.inputs["Fac"])
        noise_in = noise
    if preset.ground != "noise":
        noise_in = tex
    nt.links.new(coord.outputs["UV"], noise_in.inputs["Vector"])
    nt.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = 0.9
    ground.data.materials.append(mat)
    if preset.backdrop_rgb is not None:
        az = math.radians(preset.azimuth_deg)
        away = np.array([math.sin(az), math.cos(az), 0.0])  # from camera through the subject
        bpy.ops.mesh.primitive_plane_add(size=40, location=tuple(away * 7 + [0, 0, 0]))
        wall = bpy.context.active_object
        wall.name = "backdrop"
        wall.rotation_euler = (math.pi / 2, 0, -az)
        wmat, wnt = _material("backdrop")
        wnt.nodes["Principled BSDF"].inputs["Base Color"].default_value = (*preset.backdrop_rgb, 1)
        wall.data.materials.append(wmat)
        wall.visible_shadow = False  # the wall must not put the subject in its shadow


def lights_and_world(preset: Preset) -> None:
    world = bpy.data.worlds.new("world")
    bpy.context.scene.world = world
    world.use_nodes = True
    bg = world.node_tree.nodes["Background"]
    bg.inputs["Color"].default_value = (*preset.world_rgb, 1)
    bg.inputs["Strength"].default_value = 0.8
    sun = bpy.data.lights.new("sun", "SUN")
    sun.energy = preset.sun_strength
    sun.angle = math.radians(3)
    obj = bpy.data.objects.new("sun", sun)
    bpy.context.scene.collection.objects.link(obj)
    el, az = map(math.radians, preset.sun_deg)
    obj.rotation_euler = (math.pi / 2 - el, 0, az)


def render_settings(scene: bpy.types.Scene, width: int, height: int, samples: int, threads: int) -> None:
    """Cycles on the CPU with few samples and the denoiser when this build has one."""
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_adaptive_sampling = True
    scene.cycles.max_bounces = 2
    scene.cycles.diffuse_bounces = 1
    scene.cycles.glossy_bounces = 1
    scene.cycles.transmission_bounces = 0
    scene.cycles.volume_bounces = 0
    # OpenImageDenoise ships in the CPU builds of bpy; build_options does not report it, so just ask
    scene.cycles.use_denoising = True
    scene.cycles.denoiser = "OPENIMAGEDENOISE"
    scene.cycles.denoising_prefilter = "FAST"
    if hasattr(scene.cycles, "denoising_quality"):
        scene.cycles.denoising_quality = "FAST"
    scene.render.use_persistent_data = True  # keep the scene between frames: only the pose changes
    scene.render.threads_mode = "FIXED"
    scene.render.threads = threads
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.use_motion_blur = False
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "Standard"


def add_camera(lens_mm: float, sensor_mm: float) -> bpy.types.Object:
    cam = bpy.data.cameras.new("cam")
    cam.lens = lens_mm
    cam.sensor_width = sensor_mm
    cam.sensor_fit = "HORIZONTAL"
    cam.clip_start, cam.clip_end = 0.05, 200.0
    obj = bpy.data.objects.new("cam", cam)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.scene.camera = obj
    return obj


def set_video_output(scene: bpy.types.Scene, path: Path, fps: int) -> None:
    """H.264 in an MP4 container through Blender's own FFmpeg."""
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):  # Blender >= 5.0 splits images from videos
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    ff = scene.render.ffmpeg
    ff.format = "MPEG4"
    ff.codec = "H264"
    ff.constant_rate_factor = "HIGH"
    ff.ffmpeg_preset = "GOOD"
    ff.gopsize = 15
    scene.render.fps, scene.render.fps_base = fps, 1.0
    scene.render.filepath = str(path)
    scene.render.use_file_extension = False


def set_png_output(scene: bpy.types.Scene, pattern: str) -> None:
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):
        settings.media_type = "IMAGE"
    settings.file_format = "PNG"
    settings.color_mode = "RGBA"
    scene.render.filepath = pattern
    scene.render.use_file_extension = True
