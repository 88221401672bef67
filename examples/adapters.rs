//! Lists the adapters nninit can use, best first, with the features that matter to it.
fn main() {
    for adapter in nninit::gpu::adapters_blocking() {
        let info = adapter.get_info();
        let limits = adapter.limits();
        println!(
            "{} | int64 {} | timestamps {} | max binding {} MiB | max buffer {} MiB",
            nninit::gpu::describe(&info),
            adapter.features().contains(wgpu::Features::SHADER_INT64),
            adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
            limits.max_storage_buffer_binding_size >> 20,
            limits.max_buffer_size >> 20
        );
    }
}
