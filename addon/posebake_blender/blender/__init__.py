"""bpy glue: the only part of the add-on that imports bpy. The maths lives in `..retarget`."""
