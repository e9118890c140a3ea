"""PoseBake Blender add-on package (`client` talks to the `posebake serve` backend)."""
