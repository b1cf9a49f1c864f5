//! Checkpoints: tensors and metadata round-trip exactly; a failed save leaves the previous
//! checkpoint intact.

use candle_core::{DType, Device, Tensor};
use xbn_train::checkpoint::{Checkpoint, atomic};

fn sample() -> Checkpoint {
    let mut ck = Checkpoint::default();
    let d = Device::Cpu;
    ck.tensors.insert(
        "model.w".into(),
        Tensor::arange(0f32, 12., &d)
            .unwrap()
            .reshape((3, 4))
            .unwrap(),
    );
    ck.tensors
        .insert("rng.state".into(), Tensor::new(&[7i64, 42], &d).unwrap());
    ck.tensors
        .insert("norm.initialized".into(), Tensor::new(&[1u8], &d).unwrap());
    ck.metadata.insert("iteration".into(), "42".into());
    ck
}

#[test]
fn tensors_and_metadata_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.safetensors");
    let ck = sample();
    ck.save(&p).unwrap();
    let back = Checkpoint::load(&p, &Device::Cpu).unwrap();
    assert_eq!(back.metadata, ck.metadata);
    assert_eq!(back.meta::<usize>("iteration", &p).unwrap(), 42);
    assert!(back.meta::<usize>("seed", &p).is_err());
    for (k, t) in &ck.tensors {
        let b = &back.tensors[k];
        assert_eq!(b.dtype(), t.dtype(), "{k}");
        assert_eq!(b.dims(), t.dims(), "{k}");
        let (x, y) = (
            t.to_dtype(DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap(),
            b.to_dtype(DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap(),
        );
        assert_eq!(x, y, "{k}");
    }
    let part = back.part("rng");
    assert_eq!(part.len(), 1);
    assert!(part.contains_key("state"));
}

#[test]
fn failed_save_keeps_previous_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.safetensors");
    sample().save(&p).unwrap();
    let before = std::fs::read(&p).unwrap();
    // Make the temporary file impossible to create (as a full disk would make it impossible
    // to write): a folder sits where it would go.
    std::fs::create_dir(atomic::temp_path(&p)).unwrap();
    let mut other = sample();
    other.metadata.insert("iteration".into(), "43".into());
    assert!(other.save(&p).is_err());
    assert_eq!(
        std::fs::read(&p).unwrap(),
        before,
        "previous checkpoint changed"
    );
    let back = Checkpoint::load(&p, &Device::Cpu).unwrap();
    assert_eq!(back.metadata["iteration"], "42");
}

#[test]
fn full_disk_leaves_previous_file() {
    // /dev/full accepts opens and fails every write with ENOSPC; writing through a symlink
    // at the temporary path reproduces a full disk during the save.
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.safetensors");
    sample().save(&p).unwrap();
    let before = std::fs::read(&p).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/dev/full", atomic::temp_path(&p)).unwrap();
    let err = sample().save(&p).unwrap_err();
    assert!(err.to_string().to_lowercase().contains("space"), "{err}");
    assert_eq!(std::fs::read(&p).unwrap(), before);
}

#[test]
fn truncated_checkpoint_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.safetensors");
    sample().save(&p).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let err = Checkpoint::load(&p, &Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("c.safetensors"), "{err}");
}
