//! Reading MATLAB level-5 MAT files (MATLAB v5/v6/v7 `save`, scipy `savemat`, our own writer)
//! into the value model of `mat.rs`: numeric arrays of any class become `f64` matrices, char
//! arrays become strings, scalar structs become `MatStruct`s (nested), and anything else is
//! kept as `MatValue::Unsupported` so one odd variable does not spoil the file.
//!
//! Both endians, `miCOMPRESSED` variables, and the small data-element format are handled.
//! Every length and offset is bounds-checked: malformed input gives `MediaError::Malformed`
//! with the byte offset, never a panic. v7.3 (HDF5) files are reported as unsupported.
//!
//! Must not know: network, annotations, what the variables mean.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::{mem, MediaError};
use super::mat::*;

/// Reads a MAT file held in memory.
pub fn read_mat(bytes: &[u8]) -> Result<MatFile, MediaError> {
    Parser::new(&mem()).file(bytes)
}

/// Reads a MAT file from disk.
pub fn read_mat_path(path: &Path) -> Result<MatFile, MediaError> {
    let bytes = std::fs::read(path).map_err(|source| MediaError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    Parser::new(path).file(&bytes)
}

/// Largest inflated size of one compressed variable we accept (guards against zip bombs).
const MAX_INFLATED: u64 = 8 << 30;

struct Parser {
    file: PathBuf,
    be: bool,
}

/// One data element: its type, its payload, and where the payload started (for errors).
struct Element<'a> {
    ty: u32,
    data: &'a [u8],
    at: u64,
}

impl Parser {
    fn new(file: &Path) -> Self {
        Parser {
            file: file.to_path_buf(),
            be: false,
        }
    }

    fn bad(&self, at: u64, reason: impl Into<String>) -> MediaError {
        MediaError::Malformed {
            file: self.file.clone(),
            format: "MAT",
            offset: at,
            reason: reason.into(),
        }
    }

    fn u32_at(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    fn file(mut self, bytes: &[u8]) -> Result<MatFile, MediaError> {
        if bytes.len() < 128 {
            return Err(self.bad(0, "shorter than the 128-byte header"));
        }
        if bytes.starts_with(b"MATLAB 7.3") || bytes.get(512..520) == Some(b"\x89HDF\r\n\x1a\n") {
            return Err(MediaError::Unsupported {
                file: self.file,
                format: "MAT",
                reason: "v7.3 (HDF5) MAT file; save with -v7 or read it with an HDF5 tool".into(),
            });
        }
        self.be = match &bytes[126..128] {
            b"IM" => false,
            b"MI" => true,
            _ => {
                return Err(self.bad(126, "no level-5 endian indicator (a v4 or non-MAT file?)"));
            }
        };
        let mut vars = MatFile::new();
        let mut pos = 128usize;
        // A non-zero subsystem offset marks where MATLAB's object subsystem data begins.
        let sub = &bytes[116..124];
        let end = if sub.iter().all(|&b| b == 0 || b == b' ') {
            bytes.len()
        } else {
            let off = u64::from_le_bytes(sub.try_into().unwrap_or([0; 8]));
            let off = if self.be { off.swap_bytes() } else { off };
            usize::try_from(off).map_or(bytes.len(), |o| o.clamp(128, bytes.len()))
        };
        while pos + 8 <= end {
            let (el, next) = self.element(&bytes[..end], pos, 0)?;
            pos = next;
            let owned;
            let el = if el.ty == MI_COMPRESSED {
                owned = self.inflate(el.data, el.at)?;
                let (inner, _) = self.element(&owned, 0, el.at)?;
                inner
            } else {
                el
            };
            if el.ty == MI_MATRIX {
                let (name, value) = self.matrix(el.data, el.at, 0)?;
                vars.fields.push((name, value));
            }
        }
        Ok(vars)
    }

    fn inflate(&self, z: &[u8], at: u64) -> Result<Vec<u8>, MediaError> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(z)
            .take(MAX_INFLATED)
            .read_to_end(&mut out)
            .map_err(|e| self.bad(at, format!("compressed variable does not inflate: {e}")))?;
        Ok(out)
    }

    /// The element at `pos` in `buf` (offsets in errors are `base + pos`), and the position of
    /// the next element.
    fn element<'a>(
        &self,
        buf: &'a [u8],
        pos: usize,
        base: u64,
    ) -> Result<(Element<'a>, usize), MediaError> {
        let at = base + pos as u64;
        let head = buf
            .get(pos..pos + 8)
            .ok_or_else(|| self.bad(at, "truncated data-element tag"))?;
        let first = self.u32_at(&head[0..4]);
        if first >> 16 != 0 {
            // Small data element: type and size share the first word, data in the next 4 bytes.
            let (ty, n) = (first & 0xffff, (first >> 16) as usize);
            if n > 4 {
                return Err(self.bad(at, format!("small element claims {n} bytes")));
            }
            let el = Element {
                ty,
                data: &head[4..4 + n],
                at: at + 4,
            };
            return Ok((el, pos + 8));
        }
        let n = self.u32_at(&head[4..8]) as usize;
        let data = buf
            .get(pos + 8..pos + 8 + n)
            .ok_or_else(|| self.bad(at, format!("element of {n} bytes runs past the end")))?;
        // Compressed elements are not padded; everything else is padded to 8 bytes.
        let next = if first == MI_COMPRESSED {
            pos + 8 + n
        } else {
            pos + 8 + n.div_ceil(8) * 8
        };
        Ok((
            Element {
                ty: first,
                data,
                at: at + 8,
            },
            next.min(buf.len()),
        ))
    }

    /// Parses the payload of an miMATRIX element into its name and value.
    fn matrix(&self, buf: &[u8], at: u64, depth: usize) -> Result<(String, MatValue), MediaError> {
        if depth > 32 {
            return Err(self.bad(at, "structs nested deeper than 32 levels"));
        }
        if buf.is_empty() {
            // MATLAB writes an empty miMATRIX for `[]` struct fields.
            return Ok((String::new(), MatValue::Matrix(MatMatrix::column(vec![]))));
        }
        let (flags, p) = self.element(buf, 0, at)?;
        if flags.data.len() < 8 {
            return Err(self.bad(flags.at, "array flags shorter than 8 bytes"));
        }
        let fword = self.u32_at(&flags.data[0..4]);
        let class = (fword & 0xff) as u8;
        let complex = fword & 0x0800 != 0;
        let (dims_el, p) = self.element(buf, p, at)?;
        let dims = self.ints(&dims_el)?;
        let (name_el, mut p) = self.element(buf, p, at)?;
        let name = String::from_utf8_lossy(name_el.data)
            .trim_end_matches('\0')
            .to_string();
        let count = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| self.bad(dims_el.at, format!("dims {dims:?} overflow")))?;
        let value = match class {
            6..=15 if complex => MatValue::Unsupported(format!("complex {}", class_name(class))),
            6..=15 => {
                let (re, _) = self.element(buf, p, at)?;
                let data = self.numbers(&re)?;
                if data.len() != count {
                    return Err(self.bad(
                        re.at,
                        format!("{name:?}: {} values for dims {dims:?}", data.len()),
                    ));
                }
                MatValue::Matrix(
                    MatMatrix::with_dims(dims, data).map_err(|e| e.with_file(&self.file))?,
                )
            }
            MX_CHAR => {
                let (el, _) = self.element(buf, p, at)?;
                MatValue::Char(self.chars(&el, &dims, count)?)
            }
            MX_STRUCT if count == 1 => {
                let (len_el, q) = self.element(buf, p, at)?;
                let flen = *self.ints(&len_el)?.first().unwrap_or(&0);
                let (names_el, q) = self.element(buf, q, at)?;
                if flen == 0 || names_el.data.len() % flen != 0 {
                    return Err(
                        self.bad(names_el.at, format!("field names not in {flen}-byte slots"))
                    );
                }
                p = q;
                let mut st = MatStruct::new();
                for slot in names_el.data.chunks(flen) {
                    let fname: String = String::from_utf8_lossy(slot)
                        .split('\0')
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let (el, q) = self.element(buf, p, at)?;
                    p = q;
                    if el.ty != MI_MATRIX {
                        return Err(self.bad(el.at, format!("field {fname:?} is not a matrix")));
                    }
                    let (_, v) = self.matrix(el.data, el.at, depth + 1)?;
                    st.fields.push((fname, v));
                }
                MatValue::Struct(st)
            }
            MX_STRUCT => MatValue::Unsupported(format!("struct array {dims:?}")),
            other => MatValue::Unsupported(class_name(other).to_string()),
        };
        Ok((name, value))
    }

    fn ints(&self, el: &Element) -> Result<Vec<usize>, MediaError> {
        if el.ty != MI_INT32 || !el.data.len().is_multiple_of(4) {
            return Err(self.bad(el.at, format!("expected int32 data, found type {}", el.ty)));
        }
        el.data
            .chunks_exact(4)
            .map(|c| {
                usize::try_from(self.u32_at(c) as i32)
                    .map_err(|_| self.bad(el.at, "negative dimension"))
            })
            .collect()
    }

    #[allow(clippy::modulo_one)] // the macro's width is 1 for 8-bit types
    fn numbers(&self, el: &Element) -> Result<Vec<f64>, MediaError> {
        let d = el.data;
        macro_rules! conv {
            ($t:ty, $n:expr) => {{
                if d.len() % $n != 0 {
                    return Err(self.bad(el.at, "numeric data not a whole number of values"));
                }
                d.chunks_exact($n)
                    .map(|c| {
                        let a: [u8; $n] = c.try_into().unwrap_or([0; $n]);
                        (if self.be {
                            <$t>::from_be_bytes(a)
                        } else {
                            <$t>::from_le_bytes(a)
                        }) as f64
                    })
                    .collect()
            }};
        }
        Ok(match el.ty {
            MI_INT8 => conv!(i8, 1),
            MI_UINT8 => conv!(u8, 1),
            MI_INT16 => conv!(i16, 2),
            MI_UINT16 => conv!(u16, 2),
            MI_INT32 => conv!(i32, 4),
            MI_UINT32 => conv!(u32, 4),
            MI_SINGLE => conv!(f32, 4),
            MI_DOUBLE => conv!(f64, 8),
            MI_INT64 => conv!(i64, 8),
            MI_UINT64 => conv!(u64, 8),
            t => return Err(self.bad(el.at, format!("data type {t} is not numeric"))),
        })
    }

    fn chars(&self, el: &Element, dims: &[usize], count: usize) -> Result<String, MediaError> {
        let units: Vec<u16> = match el.ty {
            MI_UINT16 | MI_UTF16 | MI_INT16 => {
                self.numbers(el)?.into_iter().map(|x| x as u16).collect()
            }
            MI_UTF8 => String::from_utf8_lossy(el.data).encode_utf16().collect(),
            MI_UINT8 | MI_INT8 => el.data.iter().map(|&b| b as u16).collect(),
            t => return Err(self.bad(el.at, format!("char data of type {t}"))),
        };
        let rows = dims.first().copied().unwrap_or(0);
        if units.len() != count || rows <= 1 {
            return Ok(String::from_utf16_lossy(&units));
        }
        // Column-major char matrix: one line per row.
        let cols = count / rows;
        let lines: Vec<String> = (0..rows)
            .map(|r| {
                let row: Vec<u16> = (0..cols).map(|c| units[c * rows + r]).collect();
                String::from_utf16_lossy(&row)
            })
            .collect();
        Ok(lines.join("\n"))
    }
}

fn class_name(class: u8) -> &'static str {
    match class {
        1 => "cell",
        2 => "struct",
        3 => "object",
        4 => "char",
        5 => "sparse",
        6 => "double",
        7 => "single",
        8 => "int8",
        9 => "uint8",
        10 => "int16",
        11 => "uint16",
        12 => "int32",
        13 => "uint32",
        14 => "int64",
        15 => "uint64",
        16 => "function handle",
        17 => "opaque object",
        _ => "unknown class",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MatFile {
        let psd = MatMatrix::from_row_major(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let inner = MatStruct::new().with("a", 7.0).with("label", "nested ü");
        MatFile::new()
            .with(
                "SpectData",
                MatStruct::new()
                    .with("PSD", psd)
                    .with("frequency", MatMatrix::column(vec![10.0, 20.0]))
                    .with(
                        "time",
                        MatMatrix::row(vec![738_000.5, 738_000.6, 738_000.7]),
                    )
                    .with("processingComment", "one-minute averages")
                    .with("empty", "")
                    .with("inner", inner),
            )
            .with("title", "x")
    }

    #[test]
    fn roundtrip_compressed_and_plain_and_deterministic() {
        for compress in [true, false] {
            let opts = MatWriteOptions { compress };
            let bytes = encode_mat(&sample(), opts).unwrap();
            assert_eq!(
                bytes,
                encode_mat(&sample(), opts).unwrap(),
                "same input, same bytes"
            );
            assert_eq!(&bytes[..20], b"MATLAB 5.0 MAT-file,");
            let back = read_mat(&bytes).unwrap();
            assert_eq!(back, sample(), "compress={compress}");
            let psd = back.get_path("SpectData.PSD").unwrap().as_matrix().unwrap();
            assert_eq!((psd.rows(), psd.cols()), (2, 3));
            assert_eq!(psd.get(1, 0), Some(4.0));
            assert_eq!(psd.get(0, 2), Some(3.0));
            assert_eq!(psd.get(2, 0), None);
        }
    }

    #[test]
    fn reads_scipy_savemat_files() {
        // Made once with scipy 1.17 `savemat` (no comma after "MAT-file" in the header,
        // chars as miUTF8, int32/uint8/single classes, a cell field); see the test fixture
        // folder. Checked against `scipy.io.loadmat`'s view of the same file.
        for name in ["scipy_struct.mat", "scipy_struct_z.mat"] {
            let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/mat")
                .join(name);
            let f = read_mat_path(&p).unwrap();
            let psd = f.get_path("SpectData.PSD").unwrap().as_matrix().unwrap();
            assert_eq!((psd.rows(), psd.cols()), (3, 4), "{name}");
            assert_eq!(psd.get(1, 2), Some(6.5));
            let freq = f
                .get_path("SpectData.frequency")
                .unwrap()
                .as_matrix()
                .unwrap();
            assert_eq!(freq.data(), &[10.0, 20.0, 30.0]);
            let t = f.get_path("SpectData.time").unwrap().as_matrix().unwrap();
            assert_eq!(t.data()[3], 738_000.8);
            let pc = f.get_path("SpectData.processingComment").unwrap();
            assert_eq!(pc.as_str(), Some("plot resolution"));
            let p32 = f.get_path("SpectData.psd32").unwrap().as_matrix().unwrap();
            assert_eq!(p32.data(), &[1.5, -2.25]);
            assert_eq!(
                f.get_path("SpectData.nested.a").unwrap().as_scalar(),
                Some(-7.0)
            );
            assert_eq!(
                f.get_path("SpectData.nested.label").unwrap().as_str(),
                Some("ü-ok")
            );
            assert!(
                matches!(f.get_path("SpectData.cells"), Some(MatValue::Unsupported(c)) if c == "cell")
            );
            assert_eq!(
                f.get_path("Meta.deviceCode").unwrap().as_str(),
                Some("ICLISTENHF6324")
            );
            assert_eq!(
                f.get_path("u8").unwrap().as_matrix().unwrap().data(),
                &[1.0, 2.0, 255.0]
            );
            assert_eq!(f.get("title").unwrap().as_str(), Some("HSD fixture"));
        }
    }

    #[test]
    fn malformed_input_is_an_error_with_offset_never_a_panic() {
        let good = encode_mat(&sample(), MatWriteOptions { compress: false }).unwrap();
        // Every truncation and a sweep of single-byte corruptions must not panic.
        for cut in (0..good.len()).step_by(7) {
            let _ = read_mat(&good[..cut]);
        }
        for i in (128..good.len()).step_by(3) {
            let mut b = good.clone();
            b[i] ^= 0xA5;
            let _ = read_mat(&b);
        }
        let e = read_mat(&good[..200]).unwrap_err();
        assert!(matches!(e, MediaError::Malformed { .. }), "{e}");
        assert!(
            e.to_string().contains("<memory>") && e.to_string().contains("byte"),
            "{e}"
        );
        let mut h5 = vec![b' '; 600];
        h5[..19].copy_from_slice(b"MATLAB 7.3 MAT-file");
        assert!(matches!(read_mat(&h5), Err(MediaError::Unsupported { .. })));
        let e = read_mat_path(Path::new("/nonexistent/spect.mat")).unwrap_err();
        assert!(e.to_string().contains("spect.mat"), "{e}");
    }

    #[test]
    fn writer_rejects_bad_names_and_shapes() {
        let bad = MatFile::new().with("1abc", 1.0);
        assert!(encode_mat(&bad, MatWriteOptions::default()).is_err());
        let bad = MatFile::new().with("s", MatStruct::new().with("has space", 1.0));
        assert!(encode_mat(&bad, MatWriteOptions::default()).is_err());
        assert!(MatMatrix::new(2, 2, vec![1.0]).is_err());
    }
}
