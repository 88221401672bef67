// A dense layer, y = act(W x + b), reading W and b in place from the weight arena.

struct Layer {
    // Offsets (in f32 elements) of W (rows x cols, row-major) and b (rows) in the arena.
    w: u32,
    b: u32,
    rows: u32,
    cols: u32,
    // 1 for ReLU, 0 for none.
    relu: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> arena: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> layer: Layer;

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) id: vec3<u32>) {
    let r = id.x;
    if r >= layer.rows {
        return;
    }
    var acc = arena[layer.b + r];
    for (var c = 0u; c < layer.cols; c++) {
        acc += arena[layer.w + r * layer.cols + c] * x[c];
    }
    if layer.relu == 1u {
        acc = max(acc, 0.0);
    }
    y[r] = acc;
}
