"""PoseBake backend: video -> metric 3D motion (torch), plus the `posebake` CLI."""

__version__ = "0.1.0"
