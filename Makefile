# Two entry points (see README): `make demo` and `make test`. Each builds the venv it needs.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
VIDEO ?= $(DATA)/videos/phalp_running_woman.mp4
CHARACTER ?= $(DATA)/characters/cmu_skeleton_basemesh_female.glb
OUT ?= out

.PHONY: demo test models groundtruth bench addon clean-venv

$(BIN)/.installed: pyproject.toml constraints/ci.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (PoseBake needs Python 3.11, as pip bpy does)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints/ci.txt -e '.[dev,blender,serve]'
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

test: models
	timeout 4800 $(BIN)/python -m pytest -q tests

# The Blender extension zip (dist/posebake_blender-VERSION.zip).
addon: $(BIN)/.installed
	$(BIN)/python addon/build.py

# Re-render (or extend with EXTRA=specs.json) the ground-truth clips in bench/groundtruth/clips.
groundtruth: $(BIN)/.installed
	$(BIN)/python bench/groundtruth/make_set.py $(if $(EXTRA),--extra $(EXTRA),)

# Benchmarks; their tables land in bench/results/ (summarised in bench/RESULTS.md).
bench: models
	bench/mediapipe_env.sh
	$(BIN)/python bench/models.py
	$(BIN)/python bench/estimate.py
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/scale_camera.py
	$(BIN)/python bench/multiview_root.py
	$(BIN)/python bench/contacts.py
	$(BIN)/python bench/foot_lock.py
	$(BIN)/python bench/rigs.py

clean-venv:
	rm -rf $(VENV)
