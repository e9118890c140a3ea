"""Training the 2D->3D lifter: BlazePose-like 2D from CMU motion, its measured error profile, the loop."""
