//! `xbn-train`: the training binary.

fn main() -> anyhow::Result<()> {
    println!("xbn-train: not yet implemented");
    Ok(())
}
