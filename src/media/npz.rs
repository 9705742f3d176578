//! NumPy `.npz` archives (compressed) of named `f32` / `f64` / `i64` arrays, 1-D or 2-D in
//! row-major (C) order, through `ndarray-npy`; plus a reader used to check what we wrote.
//!
//! `np.load(path)[name]` gives back the array with the same shape and dtype (`<f4`, `<f8`,
//! `<i8`). NPZ holds no strings: callers put text metadata in a JSON sidecar.
//!
//! Must not know: network, annotations, what the arrays mean.

use std::io::Cursor;
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{NpzReader, NpzWriter, ReadNpzError};

use super::error::{mem, MediaError};

/// The element data of one array.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    /// numpy `<f4`.
    F32(Vec<f32>),
    /// numpy `<f8`.
    F64(Vec<f64>),
    /// numpy `<i8`.
    I64(Vec<i64>),
}

impl NpyData {
    fn len(&self) -> usize {
        match self {
            NpyData::F32(v) => v.len(),
            NpyData::F64(v) => v.len(),
            NpyData::I64(v) => v.len(),
        }
    }
}

/// One named array: `shape` has one or two entries, `data` is row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// The elements, row-major (C order).
    pub data: NpyData,
}

impl NpyArray {
    /// A 1-D array.
    pub fn vector(data: NpyData) -> Self {
        NpyArray {
            shape: vec![data.len()],
            data,
        }
    }

    /// A 2-D `rows × cols` array from row-major data (checked when written).
    pub fn matrix(rows: usize, cols: usize, data: NpyData) -> Self {
        NpyArray {
            shape: vec![rows, cols],
            data,
        }
    }
}

fn codec(file: &Path, e: impl std::fmt::Display) -> MediaError {
    MediaError::Codec {
        file: file.to_path_buf(),
        format: "NPZ",
        reason: e.to_string(),
    }
}

fn nd<T: Clone>(shape: &[usize], v: &[T]) -> Result<ArrayD<T>, MediaError> {
    ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).map_err(|e| codec(&mem(), e))
}

/// Encodes named arrays as a compressed `.npz` archive in memory.
pub fn encode_npz(arrays: &[(&str, NpyArray)]) -> Result<Vec<u8>, MediaError> {
    let file = mem();
    let mut w = NpzWriter::new_compressed(Cursor::new(Vec::new()));
    for (name, a) in arrays {
        if name.is_empty() || name.contains('/') {
            return Err(MediaError::Invalid {
                file,
                field: "array name",
                reason: format!("{name:?} (must be non-empty, without '/')"),
            });
        }
        let n: usize = a.shape.iter().product();
        if a.shape.is_empty() || a.shape.len() > 2 || n != a.data.len() {
            return Err(MediaError::Invalid {
                file,
                field: "shape",
                reason: format!(
                    "array {name:?}: shape {:?} for {} elements (1-D or 2-D only)",
                    a.shape,
                    a.data.len()
                ),
            });
        }
        let r = match &a.data {
            NpyData::F32(v) => w.add_array(*name, &nd(&a.shape, v)?),
            NpyData::F64(v) => w.add_array(*name, &nd(&a.shape, v)?),
            NpyData::I64(v) => w.add_array(*name, &nd(&a.shape, v)?),
        };
        r.map_err(|e| codec(&file, format!("array {name:?}: {e}")))?;
    }
    let out = w.finish().map_err(|e| codec(&file, e))?;
    Ok(out.into_inner())
}

/// Writes a compressed `.npz` to `path` (temporary file in the same folder, then rename).
pub fn write_npz_path(path: &Path, arrays: &[(&str, NpyArray)]) -> Result<(), MediaError> {
    let bytes = encode_npz(arrays).map_err(|e| e.with_file(path))?;
    super::write_atomic(path, &bytes)
}

/// Reads every `f32`/`f64`/`i64` array of an `.npz` archive, in archive order (names without
/// the `.npy` suffix).
pub fn read_npz(bytes: &[u8]) -> Result<Vec<(String, NpyArray)>, MediaError> {
    read_npz_named(bytes, &mem())
}

/// Reads an `.npz` file (see [`read_npz`]).
pub fn read_npz_path(path: &Path) -> Result<Vec<(String, NpyArray)>, MediaError> {
    let bytes = std::fs::read(path).map_err(|source| MediaError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    read_npz_named(&bytes, path)
}

fn read_npz_named(bytes: &[u8], file: &Path) -> Result<Vec<(String, NpyArray)>, MediaError> {
    let mut r = NpzReader::new(Cursor::new(bytes)).map_err(|e| codec(file, e))?;
    let names = r.names().map_err(|e| codec(file, e))?;
    let mut out = Vec::with_capacity(names.len());
    for raw in names {
        let name = raw.strip_suffix(".npy").unwrap_or(&raw).to_string();
        let ctx = |e: ReadNpzError| codec(file, format!("array {name:?}: {e}"));
        // Try each dtype in turn; a dtype mismatch is a header error, not a data error.
        let arr = match r.by_name::<ndarray::OwnedRepr<f64>, IxDyn>(&raw) {
            Ok(a) => to_npy(a, NpyData::F64),
            Err(_) => match r.by_name::<ndarray::OwnedRepr<f32>, IxDyn>(&raw) {
                Ok(a) => to_npy(a, NpyData::F32),
                Err(_) => to_npy(
                    r.by_name::<ndarray::OwnedRepr<i64>, IxDyn>(&raw)
                        .map_err(ctx)?,
                    NpyData::I64,
                ),
            },
        };
        out.push((name, arr));
    }
    Ok(out)
}

fn to_npy<T: Clone>(a: ArrayD<T>, wrap: fn(Vec<T>) -> NpyData) -> NpyArray {
    let shape = a.shape().to_vec();
    // `iter()` walks in logical row-major order whatever the memory layout (fortran_order files).
    let data = a.iter().cloned().collect();
    NpyArray {
        shape,
        data: wrap(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_dtypes_and_shapes_roundtrip() {
        let spec = NpyArray::matrix(2, 3, NpyData::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]));
        let freq = NpyArray::vector(NpyData::F64(vec![0.0, 0.25, 1e9]));
        let idx = NpyArray::vector(NpyData::I64(vec![-3, 0, i64::MAX]));
        let arrays = [("spectrogram", spec), ("frequency", freq), ("idx", idx)];
        let bytes = encode_npz(&arrays).unwrap();
        let back = read_npz(&bytes).unwrap();
        assert_eq!(back.len(), 3);
        for (name, a) in &arrays {
            let got = back.iter().find(|(n, _)| n == name).expect(name);
            assert_eq!(&got.1, a, "{name}");
        }
    }

    #[test]
    fn compressed_on_disk_and_errors_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("z.npz");
        let zeros = NpyArray::vector(NpyData::F64(vec![0.0; 100_000]));
        write_npz_path(&p, &[("z", zeros.clone())]).unwrap();
        assert!(
            std::fs::metadata(&p).unwrap().len() < 10_000,
            "deflate in use"
        );
        assert_eq!(read_npz_path(&p).unwrap()[0].1, zeros);

        let bad = NpyArray::matrix(3, 3, NpyData::I64(vec![1, 2]));
        let e = write_npz_path(&p, &[("bad", bad)]).unwrap_err();
        assert!(
            e.to_string().contains("z.npz") && e.to_string().contains("\"bad\""),
            "{e}"
        );
        let e = read_npz(b"not a zip").unwrap_err();
        assert!(e.to_string().contains("NPZ"), "{e}");
    }
}
