# Two entry points (see README): `make demo` and `make test`. Each builds the venv it needs.
# Python 3.11 runs everything (with Blender 4.5 LTS); Python 3.13 runs current Blender (5.2), the only
# Python its pip bpy is built for: `make test` runs the Blender-side tests there too.
PYTHON ?= $(shell tools/find_python.sh 3.11)
PYTHON313 ?= $(shell tools/find_python.sh 3.13)
VENV ?= .venv
VENV313 ?= .venv-313
BIN := $(VENV)/bin
BIN313 := $(VENV313)/bin
DATA ?= ../shared/data
VIDEO ?= $(DATA)/videos/phalp_running_woman.mp4
CHARACTER ?= $(DATA)/characters/cmu_skeleton_basemesh_female.glb
OUT ?= out

.PHONY: demo test test-full test-blender313 models groundtruth bench addon wheel clean-venv

$(BIN)/.installed: pyproject.toml constraints/ci.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 not found (pip bpy 4.5/5.0 needs it; set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints/ci.txt -e '.[dev,blender,serve]'
	touch $@

$(BIN313)/.installed: pyproject.toml constraints/ci313.txt
	@test -n "$(PYTHON313)" || { echo "error: Python 3.13 not found (pip bpy 5.1+ needs it; set PYTHON313=/path/to/python3.13)"; exit 1; }
	$(PYTHON313) -m venv $(VENV313)
	$(BIN313)/python -m pip install -q --upgrade pip
	$(BIN313)/python -m pip install -q -c constraints/ci313.txt -e '.[dev,blender,serve]'
	touch $@

models: $(BIN)/.installed
	$(BIN)/posebake models fetch

demo: models
	@test -f "$(VIDEO)" || { echo "error: no input video at $(VIDEO); run: make demo VIDEO=/path/to/video.mp4"; exit 1; }
	mkdir -p $(OUT)
	$(BIN)/posebake estimate "$(VIDEO)" -o $(OUT)/demo.npz --preview $(OUT)/demo_preview.mp4
	$(BIN)/posebake export-bvh $(OUT)/demo.npz -o $(OUT)/demo.bvh
	$(BIN)/posebake bake $(OUT)/demo.npz --rig "$(CHARACTER)" -o $(OUT)/demo.blend --fbx $(OUT)/demo.fbx \
		--preview $(OUT)/demo_overlay.mp4
	@echo "demo done: $(OUT)/demo.npz (Motion), $(OUT)/demo.bvh (BVH), $(OUT)/demo_preview.mp4 (landmarks drawn),"
	@echo "  $(OUT)/demo.blend + $(OUT)/demo.fbx (baked onto $(notdir $(CHARACTER)), video camera), $(OUT)/demo_overlay.mp4 (the character over the video)"

# The whole suite on Python 3.11 + Blender 4.5 LTS, then every Blender-side test (marker `bpy`) on
# Python 3.13 + Blender 5.2. Both run even if the first fails; either failing fails `make test`.
test: models $(BIN313)/.installed
	@status=0; \
	timeout 3000 $(BIN)/python -m pytest -q tests || status=1; \
	echo "== Blender-side tests on $$($(BIN313)/python -c 'import sys, bpy; print(f"Python {sys.version.split()[0]}, Blender {bpy.app.version_string}")')"; \
	timeout 1800 $(BIN313)/python -m pytest -q -m bpy tests || status=1; \
	exit $$status

test-full: models
	timeout 3000 $(BIN)/python -m pytest -q tests

test-blender313: models $(BIN313)/.installed
	timeout 1800 $(BIN313)/python -m pytest -q -m bpy tests

# The Blender extension zip (dist/posebake_blender-VERSION.zip), with the PoseBake wheel inside for the
# add-on's "Install backend".
addon: wheel
	$(BIN)/python addon/build.py --backend-wheel "$$(ls -t dist/posebake-*.whl | head -n 1)"

# Re-render (or extend with EXTRA=specs.json) the ground-truth clips in bench/groundtruth/clips.
groundtruth: $(BIN)/.installed
	$(BIN)/python bench/groundtruth/make_set.py $(if $(EXTRA),--extra $(EXTRA),)

# Benchmarks; their tables land in bench/results/ (summarised in bench/RESULTS.md).
bench: models
	bench/mediapipe_env.sh
	$(BIN)/python bench/models.py
	$(BIN)/python bench/onnx_runtime.py
	$(BIN)/python bench/camera_motion.py
	$(BIN)/python bench/focal_size.py
	$(BIN)/python bench/estimate.py
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/scale_camera.py
	$(BIN)/python bench/multiview_root.py
	$(BIN)/python bench/contacts.py
	$(BIN)/python bench/foot_lock.py
	$(BIN)/python bench/rigs.py

# The PoseBake wheel (dist/posebake-VERSION-py3-none-any.whl): runtime, core with the rig presets, the
# add-on's driver and the shipped weights; `pip install` it anywhere with Python 3.11-3.13.
wheel: $(BIN)/.installed
	$(BIN)/python -m build --wheel --outdir dist .

clean-venv:
	rm -rf $(VENV) $(VENV313)
