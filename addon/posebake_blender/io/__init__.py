"""File readers for the add-on (numpy only, no bpy): they run the same inside Blender and in tests."""
