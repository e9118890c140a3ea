"""Motion-capture file readers (BVH, ASF/AMC), forward kinematics and resampling, in pure numpy.

Kept free of bpy and torch so the maths can be tested and reused outside Blender.
"""
from .motion import CMU_UNIT_M, Y_UP_TO_Z_UP, Motion, forward_kinematics, resample
from .bvh import read_bvh
from .asfamc import read_asf, read_amc

__all__ = ["CMU_UNIT_M", "Y_UP_TO_Z_UP", "Motion", "forward_kinematics", "resample", "read_bvh",
           "read_asf", "read_amc"]
