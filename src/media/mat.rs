//! MATLAB level-5 MAT files (the v5/v6/v7 family that `scipy.io.loadmat` and MATLAB's default
//! `save` use): the value model and a hand-written writer. The reader is in `mat_read.rs`.
//!
//! Values are what ONC HSD files need: double matrices (column-major, any dims ≥ 2), char
//! strings, and scalar structs of such fields (nested structs allowed). Each variable may be
//! wrapped in `miCOMPRESSED` (zlib, via flate2), as MATLAB's v7 `save` does.
//!
//! Why hand-written and not `matrw` (measured/checked 2026-11): matrw's writer stamps the local
//! time into the header (so identical input would not give identical bytes), writes only to a
//! path and discards write errors (`let _ = ...`), and its parser has ~290 `unwrap`s, which the
//! "never panic on server input" rule cannot accept for files downloaded from ONC. The format
//! is small; this file plus `mat_read.rs` cover it with bounds-checked parsing.
//!
//! Must not know: network, annotations, what the variables mean (HSD layout lives with callers).

use std::io::Write;

use super::error::{mem, MediaError};

// Data types (miXXX) and array classes (mxXXX) of the level-5 format.
pub(crate) const MI_INT8: u32 = 1;
pub(crate) const MI_UINT8: u32 = 2;
pub(crate) const MI_INT16: u32 = 3;
pub(crate) const MI_UINT16: u32 = 4;
pub(crate) const MI_INT32: u32 = 5;
pub(crate) const MI_UINT32: u32 = 6;
pub(crate) const MI_SINGLE: u32 = 7;
pub(crate) const MI_DOUBLE: u32 = 9;
pub(crate) const MI_INT64: u32 = 12;
pub(crate) const MI_UINT64: u32 = 13;
pub(crate) const MI_MATRIX: u32 = 14;
pub(crate) const MI_COMPRESSED: u32 = 15;
pub(crate) const MI_UTF8: u32 = 16;
pub(crate) const MI_UTF16: u32 = 17;
pub(crate) const MX_STRUCT: u8 = 2;
pub(crate) const MX_CHAR: u8 = 4;
pub(crate) const MX_DOUBLE: u8 = 6;

/// A numeric matrix held as `f64`, column-major (MATLAB order). Reading converts any numeric
/// class (single, int*, uint*, logical) to `f64`; writing always produces class `double`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatMatrix {
    dims: Vec<usize>,
    data: Vec<f64>,
}

impl MatMatrix {
    /// A `rows × cols` matrix from column-major data.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self, MediaError> {
        Self::with_dims(vec![rows, cols], data)
    }

    /// An array with explicit MATLAB dims (at least two) from column-major data.
    pub fn with_dims(dims: Vec<usize>, data: Vec<f64>) -> Result<Self, MediaError> {
        let n = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if dims.len() < 2 || n != Some(data.len()) {
            return Err(MediaError::Invalid {
                file: mem(),
                field: "matrix dims",
                reason: format!("{dims:?} for {} values", data.len()),
            });
        }
        Ok(MatMatrix { dims, data })
    }

    /// A `rows × cols` matrix from row-major data (transposed into MATLAB order).
    pub fn from_row_major(rows: usize, cols: usize, data: &[f64]) -> Result<Self, MediaError> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Self::new(rows, cols, data.to_vec());
        }
        let mut cm = Vec::with_capacity(data.len());
        for c in 0..cols {
            cm.extend((0..rows).map(|r| data[r * cols + c]));
        }
        Self::new(rows, cols, cm)
    }

    /// An `n × 1` column vector.
    pub fn column(v: Vec<f64>) -> Self {
        MatMatrix {
            dims: vec![v.len(), 1],
            data: v,
        }
    }

    /// A `1 × n` row vector.
    pub fn row(v: Vec<f64>) -> Self {
        MatMatrix {
            dims: vec![1, v.len()],
            data: v,
        }
    }

    /// A `1 × 1` scalar.
    pub fn scalar(x: f64) -> Self {
        Self::row(vec![x])
    }

    /// The dimensions, rows first (at least two).
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }
    /// Rows (the first dimension).
    pub fn rows(&self) -> usize {
        self.dims[0]
    }
    /// Columns (for N-D arrays: the product of all dims after the first).
    pub fn cols(&self) -> usize {
        self.dims[1..].iter().product()
    }
    /// Column-major values.
    pub fn data(&self) -> &[f64] {
        &self.data
    }
    /// The column-major values, moved out.
    pub fn into_data(self) -> Vec<f64> {
        self.data
    }
    /// The value at `(row, col)`, if inside.
    pub fn get(&self, row: usize, col: usize) -> Option<f64> {
        if row >= self.rows() || col >= self.cols() {
            return None;
        }
        self.data.get(col * self.rows() + row).copied()
    }
}

/// One MATLAB value.
#[derive(Debug, Clone, PartialEq)]
pub enum MatValue {
    /// A real numeric matrix (every numeric class is read as f64; written as `double`).
    Matrix(MatMatrix),
    /// A char array; multi-row char matrices are read as rows joined by `'\n'`.
    Char(String),
    /// A 1 × 1 struct.
    Struct(MatStruct),
    /// Read only: a value of a class we do not decode (cell, sparse, object, complex, struct
    /// array…), described by its class; writing it is an error.
    Unsupported(String),
}

impl MatValue {
    /// The matrix, if this is one.
    pub fn as_matrix(&self) -> Option<&MatMatrix> {
        match self {
            MatValue::Matrix(m) => Some(m),
            _ => None,
        }
    }
    /// The text, if this is a char array.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MatValue::Char(s) => Some(s),
            _ => None,
        }
    }
    /// The struct, if this is one.
    pub fn as_struct(&self) -> Option<&MatStruct> {
        match self {
            MatValue::Struct(s) => Some(s),
            _ => None,
        }
    }
    /// A scalar value (1 × 1 matrix).
    pub fn as_scalar(&self) -> Option<f64> {
        self.as_matrix()
            .filter(|m| m.data().len() == 1)
            .map(|m| m.data()[0])
    }
}

impl From<MatMatrix> for MatValue {
    fn from(m: MatMatrix) -> Self {
        MatValue::Matrix(m)
    }
}
impl From<&str> for MatValue {
    fn from(s: &str) -> Self {
        MatValue::Char(s.to_string())
    }
}
impl From<String> for MatValue {
    fn from(s: String) -> Self {
        MatValue::Char(s)
    }
}
impl From<f64> for MatValue {
    fn from(x: f64) -> Self {
        MatValue::Matrix(MatMatrix::scalar(x))
    }
}
impl From<MatStruct> for MatValue {
    fn from(s: MatStruct) -> Self {
        MatValue::Struct(s)
    }
}

/// A scalar (1 × 1) struct: ordered named fields. Also used for a file's top-level variables.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MatStruct {
    /// Field names and values, in file order.
    pub fields: Vec<(String, MatValue)>,
}

impl MatStruct {
    /// A struct without fields.
    pub fn new() -> Self {
        Self::default()
    }
    /// Builder: adds (or replaces) a field.
    pub fn with(mut self, name: &str, value: impl Into<MatValue>) -> Self {
        self.insert(name, value);
        self
    }
    /// Adds a field, replacing one of the same name.
    pub fn insert(&mut self, name: &str, value: impl Into<MatValue>) {
        let value = value.into();
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((name.to_string(), value)),
        }
    }
    /// The field called `name`.
    pub fn get(&self, name: &str) -> Option<&MatValue> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    /// A value by dotted path, e.g. `"SpectData.PSD"`.
    pub fn get_path(&self, path: &str) -> Option<&MatValue> {
        let mut parts = path.split('.');
        let mut cur = self.get(parts.next()?)?;
        for p in parts {
            cur = cur.as_struct()?.get(p)?;
        }
        Some(cur)
    }
}

/// The top-level variables of a MAT file, in file order.
pub type MatFile = MatStruct;

/// How to write a MAT file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatWriteOptions {
    /// Wrap each variable in `miCOMPRESSED` (zlib), like MATLAB's default v7 `save`.
    pub compress: bool,
}

impl Default for MatWriteOptions {
    fn default() -> Self {
        MatWriteOptions { compress: true }
    }
}

/// The header text: no timestamp, so equal input gives equal bytes. The `", "` after
/// `MAT-file` matches MATLAB's own files.
const HEADER_TEXT: &str =
    "MATLAB 5.0 MAT-file, Platform: onc-hydro, Created by: onc-hydro media::mat";

fn valid_name(name: &str) -> bool {
    let mut c = name.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic())
        && name.len() <= 63
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

fn invalid(field: &'static str, reason: String) -> MediaError {
    MediaError::Invalid {
        file: mem(),
        field,
        reason,
    }
}

/// Encodes the variables as a complete MAT file in memory.
pub fn encode_mat(vars: &MatFile, opts: MatWriteOptions) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::with_capacity(4096);
    let mut text = HEADER_TEXT.as_bytes().to_vec();
    text.resize(116, b' ');
    out.extend_from_slice(&text);
    out.extend_from_slice(&[0u8; 8]); // no subsystem data
    out.extend_from_slice(&0x0100u16.to_le_bytes());
    out.extend_from_slice(b"IM"); // little-endian
    for (name, value) in &vars.fields {
        if !valid_name(name) {
            return Err(invalid(
                "variable name",
                format!("{name:?} is not a MATLAB name"),
            ));
        }
        let mut el = Vec::new();
        matrix_element(&mut el, name, value, 0)?;
        if opts.compress {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(3));
            z.write_all(&el)
                .and_then(|_| z.finish())
                .map(|zbytes| {
                    tag(&mut out, MI_COMPRESSED, zbytes.len());
                    out.extend_from_slice(&zbytes);
                })
                .map_err(|source| MediaError::Io {
                    file: mem(),
                    source,
                })?;
        } else {
            out.extend_from_slice(&el);
        }
    }
    Ok(out)
}

fn tag(out: &mut Vec<u8>, ty: u32, nbytes: usize) {
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(&(nbytes as u32).to_le_bytes());
}

fn pad8(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
}

/// One data element (full tag, padded to 8 bytes). `out` is always 8-aligned on entry.
fn element(out: &mut Vec<u8>, ty: u32, data: &[u8]) {
    tag(out, ty, data.len());
    out.extend_from_slice(data);
    pad8(out);
}

fn matrix_element(
    out: &mut Vec<u8>,
    name: &str,
    value: &MatValue,
    depth: usize,
) -> Result<(), MediaError> {
    if depth > 32 {
        return Err(invalid("struct", "nesting deeper than 32 levels".into()));
    }
    let start = out.len();
    tag(out, MI_MATRIX, 0); // size patched below
    let (class, dims): (u8, Vec<usize>) = match value {
        MatValue::Matrix(m) => (MX_DOUBLE, m.dims.clone()),
        MatValue::Char(s) => {
            let n = s.chars().count();
            (MX_CHAR, if n == 0 { vec![0, 0] } else { vec![1, n] })
        }
        MatValue::Struct(_) => (MX_STRUCT, vec![1, 1]),
        MatValue::Unsupported(what) => {
            return Err(invalid("value", format!("{name:?}: cannot write {what}")));
        }
    };
    let mut flags = [0u8; 8];
    flags[0] = class;
    element(out, MI_UINT32, &flags);
    let mut d = Vec::with_capacity(dims.len() * 4);
    for &x in &dims {
        let x = i32::try_from(x).map_err(|_| invalid("matrix dims", format!("{name:?}: {x}")))?;
        d.extend_from_slice(&x.to_le_bytes());
    }
    element(out, MI_INT32, &d);
    element(out, MI_INT8, name.as_bytes());
    match value {
        MatValue::Matrix(m) => {
            tag(out, MI_DOUBLE, m.data.len() * 8);
            out.reserve(m.data.len() * 8);
            for x in &m.data {
                out.extend_from_slice(&x.to_le_bytes());
            }
            pad8(out);
        }
        MatValue::Char(s) => {
            // UTF-8 with dims counted in characters, as scipy's savemat writes it (scipy
            // decodes miUINT16 char data as UTF-8 by default, so UTF-16 would garble non-ASCII).
            element(out, MI_UTF8, s.as_bytes());
        }
        MatValue::Struct(st) => {
            let longest = st.fields.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            let flen = if longest < 32 { 32 } else { 64 };
            // Field-name length uses the small element format: 4-byte tag + 4 bytes of data.
            out.extend_from_slice(&((4u32 << 16) | MI_INT32).to_le_bytes());
            out.extend_from_slice(&(flen as i32).to_le_bytes());
            let mut names = vec![0u8; flen * st.fields.len()];
            for (i, (n, _)) in st.fields.iter().enumerate() {
                if !valid_name(n) {
                    return Err(invalid("field name", format!("{name:?}.{n:?}")));
                }
                names[i * flen..i * flen + n.len()].copy_from_slice(n.as_bytes());
            }
            element(out, MI_INT8, &names);
            for (_, v) in &st.fields {
                matrix_element(out, "", v, depth + 1)?;
            }
        }
        MatValue::Unsupported(_) => {}
    }
    let size = u32::try_from(out.len() - start - 8)
        .map_err(|_| invalid("value", format!("{name:?} is larger than 4 GiB")))?;
    out[start + 4..start + 8].copy_from_slice(&size.to_le_bytes());
    Ok(())
}
