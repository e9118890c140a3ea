"""Training the SmoothNet refiner that `posebake.smoothing` runs: data, noise, raw cache, loop, tuning."""
