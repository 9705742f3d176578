//! NetCDF writing, pure Rust: the classic format in its 64-bit-offset variant (CDF-2), which
//! `xarray.open_dataset`, netCDF4-python, `scipy.io.netcdf_file` and every NetCDF library read.
//! The project's one NetCDF home (soundscape products today, the OOI simulator later).
//!
//! A [`NcFile`] holds named dimensions, global attributes and variables of `i8`, `char`, `i32`,
//! `f32` or `f64` over those dimensions, each with its own attributes. Everything is validated
//! when added (names, dimension references, data lengths), so [`NcFile::encode`] only lays out
//! bytes. Record (unlimited) dimensions are not used: every variable is fixed-size.
//!
//! Limits: at most [`MAX_DIMS_PER_VAR`] dimensions per variable, a variable's data must fit the
//! format's 4 GiB per-variable bound, names are 1–256 bytes of letters, digits and `_.-+@`
//! starting with a letter or `_`.
//!
//! Must not know: what the variables mean (soundscape, OOI), how files are named.

use std::path::Path;

use super::MediaError;

/// Most dimensions one variable may span.
pub const MAX_DIMS_PER_VAR: usize = 8;
/// Largest variable payload the 64-bit-offset format allows (just under 4 GiB).
const MAX_VAR_BYTES: u64 = (1 << 32) - 4;

const NC_DIMENSION: u32 = 0x0A;
const NC_VARIABLE: u32 = 0x0B;
const NC_ATTRIBUTE: u32 = 0x0C;

/// Typed values of an attribute or a variable.
#[derive(Debug, Clone, PartialEq)]
pub enum NcValues {
    /// Signed bytes (NC_BYTE).
    I8(Vec<i8>),
    /// Text (NC_CHAR), stored as UTF-8 bytes.
    Char(String),
    /// 32-bit integers (NC_INT).
    I32(Vec<i32>),
    /// 32-bit floats (NC_FLOAT).
    F32(Vec<f32>),
    /// 64-bit floats (NC_DOUBLE).
    F64(Vec<f64>),
}

impl NcValues {
    fn nc_type(&self) -> u32 {
        match self {
            NcValues::I8(_) => 1,
            NcValues::Char(_) => 2,
            NcValues::I32(_) => 4,
            NcValues::F32(_) => 5,
            NcValues::F64(_) => 6,
        }
    }

    fn len(&self) -> usize {
        match self {
            NcValues::I8(v) => v.len(),
            NcValues::Char(s) => s.len(),
            NcValues::I32(v) => v.len(),
            NcValues::F32(v) => v.len(),
            NcValues::F64(v) => v.len(),
        }
    }

    fn item_size(&self) -> u64 {
        match self {
            NcValues::I8(_) | NcValues::Char(_) => 1,
            NcValues::I32(_) | NcValues::F32(_) => 4,
            NcValues::F64(_) => 8,
        }
    }

    /// Big-endian bytes, padded with zeros to a multiple of 4.
    fn write_padded(&self, out: &mut Vec<u8>) {
        let start = out.len();
        match self {
            NcValues::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
            NcValues::Char(s) => out.extend_from_slice(s.as_bytes()),
            NcValues::I32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
            NcValues::F32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
            NcValues::F64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        }
        pad4(out, out.len() - start);
    }
}

impl From<&str> for NcValues {
    fn from(s: &str) -> Self {
        NcValues::Char(s.to_string())
    }
}
impl From<String> for NcValues {
    fn from(s: String) -> Self {
        NcValues::Char(s)
    }
}
impl From<f64> for NcValues {
    fn from(v: f64) -> Self {
        NcValues::F64(vec![v])
    }
}
impl From<f32> for NcValues {
    fn from(v: f32) -> Self {
        NcValues::F32(vec![v])
    }
}
impl From<i32> for NcValues {
    fn from(v: i32) -> Self {
        NcValues::I32(vec![v])
    }
}

/// One variable: its dimensions (indices into the file's dimensions), attributes and data.
#[derive(Debug, Clone, PartialEq)]
struct NcVar {
    name: String,
    dims: Vec<usize>,
    attrs: Vec<(String, NcValues)>,
    data: NcValues,
}

/// A NetCDF file being assembled in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NcFile {
    dims: Vec<(String, usize)>,
    attrs: Vec<(String, NcValues)>,
    vars: Vec<NcVar>,
}

fn invalid(field: &'static str, reason: String) -> MediaError {
    MediaError::Invalid {
        file: "<netcdf>".into(),
        field,
        reason,
    }
}

fn check_name(name: &str) -> Result<(), MediaError> {
    let ok_first = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let ok_rest = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-+@".contains(c));
    if ok_first && ok_rest && name.len() <= 256 {
        Ok(())
    } else {
        Err(invalid(
            "name",
            format!("{name:?} is not a NetCDF name (a letter or _ then letters, digits, _.-+@)"),
        ))
    }
}

fn check_attr(name: &str, value: &NcValues) -> Result<(), MediaError> {
    check_name(name)?;
    if value.len() as u64 * value.item_size() > u64::from(u32::MAX / 2) {
        return Err(invalid("attribute", format!("{name}: too large")));
    }
    Ok(())
}

impl NcFile {
    /// An empty file: no dimensions, variables or attributes.
    pub fn new() -> Self {
        NcFile::default()
    }

    /// Adds a fixed-size dimension; returns its index.
    pub fn add_dim(&mut self, name: &str, len: usize) -> Result<usize, MediaError> {
        check_name(name)?;
        if self.dims.iter().any(|(n, _)| n == name) {
            return Err(invalid("dimension", format!("{name} defined twice")));
        }
        if len == 0 || len > i32::MAX as usize {
            return Err(invalid(
                "dimension",
                format!("{name}: length {len} must be between 1 and 2^31-1"),
            ));
        }
        self.dims.push((name.to_string(), len));
        Ok(self.dims.len() - 1)
    }

    /// Adds (or replaces) a global attribute.
    pub fn set_attr(
        &mut self,
        name: &str,
        value: impl Into<NcValues>,
    ) -> Result<&mut Self, MediaError> {
        let value = value.into();
        check_attr(name, &value)?;
        upsert(&mut self.attrs, name, value);
        Ok(self)
    }

    /// Adds a variable over the named dimensions (outermost first) with its data in C order.
    pub fn add_var(
        &mut self,
        name: &str,
        dims: &[&str],
        data: NcValues,
    ) -> Result<&mut Self, MediaError> {
        check_name(name)?;
        if self.vars.iter().any(|v| v.name == name) {
            return Err(invalid("variable", format!("{name} defined twice")));
        }
        if dims.len() > MAX_DIMS_PER_VAR {
            return Err(invalid(
                "variable",
                format!("{name}: more than {MAX_DIMS_PER_VAR} dimensions"),
            ));
        }
        let mut ids = Vec::with_capacity(dims.len());
        let mut count: u64 = 1;
        for d in dims {
            let id = self
                .dims
                .iter()
                .position(|(n, _)| n == d)
                .ok_or_else(|| invalid("variable", format!("{name}: unknown dimension {d}")))?;
            count = count.saturating_mul(self.dims[id].1 as u64);
            ids.push(id);
        }
        if data.len() as u64 != count {
            return Err(invalid(
                "variable",
                format!(
                    "{name}: {} values for dimensions {dims:?} ({count} expected)",
                    data.len()
                ),
            ));
        }
        if count.saturating_mul(data.item_size()) > MAX_VAR_BYTES {
            return Err(invalid(
                "variable",
                format!("{name}: larger than the format's 4 GiB per variable"),
            ));
        }
        self.vars.push(NcVar {
            name: name.to_string(),
            dims: ids,
            attrs: Vec::new(),
            data,
        });
        Ok(self)
    }

    /// Adds (or replaces) an attribute of the variable `var`.
    pub fn set_var_attr(
        &mut self,
        var: &str,
        name: &str,
        value: impl Into<NcValues>,
    ) -> Result<&mut Self, MediaError> {
        let value = value.into();
        check_attr(name, &value)?;
        let v = self
            .vars
            .iter_mut()
            .find(|v| v.name == var)
            .ok_or_else(|| invalid("variable", format!("no variable {var}")))?;
        upsert(&mut v.attrs, name, value);
        Ok(self)
    }

    /// The file's bytes (CDF-2, big-endian, all variables fixed-size).
    pub fn encode(&self) -> Result<Vec<u8>, MediaError> {
        let payload: u64 = self.vars.iter().map(var_size).sum();
        let mut out = Vec::with_capacity(1024 + payload as usize);
        out.extend_from_slice(b"CDF\x02");
        put_u32(&mut out, 0); // numrecs: no record dimension
        if self.dims.is_empty() {
            put_u32(&mut out, 0);
            put_u32(&mut out, 0);
        } else {
            put_u32(&mut out, NC_DIMENSION);
            put_u32(&mut out, self.dims.len() as u32);
            for (name, len) in &self.dims {
                put_name(&mut out, name);
                put_u32(&mut out, *len as u32);
            }
        }
        put_attrs(&mut out, &self.attrs);
        // The header's size does not depend on the offsets' values, so lay it out once with
        // placeholders, then patch each variable's `begin`.
        let mut begin_at = Vec::with_capacity(self.vars.len());
        if self.vars.is_empty() {
            put_u32(&mut out, 0);
            put_u32(&mut out, 0);
        } else {
            put_u32(&mut out, NC_VARIABLE);
            put_u32(&mut out, self.vars.len() as u32);
            for v in &self.vars {
                put_name(&mut out, &v.name);
                put_u32(&mut out, v.dims.len() as u32);
                for &d in &v.dims {
                    put_u32(&mut out, d as u32);
                }
                put_attrs(&mut out, &v.attrs);
                put_u32(&mut out, v.data.nc_type());
                put_u32(&mut out, var_size(v).min(u64::from(u32::MAX)) as u32);
                begin_at.push(out.len());
                out.extend_from_slice(&0u64.to_be_bytes());
            }
        }
        for (v, at) in self.vars.iter().zip(begin_at) {
            let begin = out.len() as u64;
            out[at..at + 8].copy_from_slice(&begin.to_be_bytes());
            v.data.write_padded(&mut out);
        }
        Ok(out)
    }

    /// Encodes and writes atomically to `path` (temporary file, fsync, rename).
    pub fn write_path(&self, path: &Path) -> Result<(), MediaError> {
        let bytes = self.encode().map_err(|e| match e {
            MediaError::Invalid { field, reason, .. } => MediaError::Invalid {
                file: path.to_path_buf(),
                field,
                reason,
            },
            other => other,
        })?;
        super::write_atomic(path, &bytes)
    }
}

fn upsert(list: &mut Vec<(String, NcValues)>, name: &str, value: NcValues) {
    match list.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = value,
        None => list.push((name.to_string(), value)),
    }
}

fn var_size(v: &NcVar) -> u64 {
    (v.data.len() as u64 * v.data.item_size()).div_ceil(4) * 4
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn pad4(out: &mut Vec<u8>, written: usize) {
    out.resize(out.len() + (4 - written % 4) % 4, 0);
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    put_u32(out, name.len() as u32);
    out.extend_from_slice(name.as_bytes());
    pad4(out, name.len());
}

fn put_attrs(out: &mut Vec<u8>, attrs: &[(String, NcValues)]) {
    if attrs.is_empty() {
        put_u32(out, 0);
        put_u32(out, 0);
        return;
    }
    put_u32(out, NC_ATTRIBUTE);
    put_u32(out, attrs.len() as u32);
    for (name, value) in attrs {
        put_name(out, name);
        put_u32(out, value.nc_type());
        put_u32(out, value.len() as u32);
        value.write_padded(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be32(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn header_layout_matches_the_classic_format_spec() {
        let mut f = NcFile::new();
        f.add_dim("x", 3).unwrap();
        f.set_attr("title", "ab").unwrap();
        f.add_var("v", &["x"], NcValues::I8(vec![1, -2, 3]))
            .unwrap();
        f.set_var_attr("v", "units", "1").unwrap();
        let b = f.encode().unwrap();
        assert_eq!(&b[..4], b"CDF\x02");
        assert_eq!(be32(&b, 4), 0);
        assert_eq!((be32(&b, 8), be32(&b, 12)), (NC_DIMENSION, 1));
        assert_eq!(be32(&b, 16), 1); // name length
        assert_eq!(&b[20..21], b"x");
        assert_eq!(be32(&b, 24), 3);
        assert_eq!((be32(&b, 28), be32(&b, 32)), (NC_ATTRIBUTE, 1));
        // data: 3 bytes padded to 4, placed at the end; begin points at it
        assert_eq!(&b[b.len() - 4..], &[1, 0xFE, 3, 0]);
        let begin = u64::from_be_bytes(b[b.len() - 12..b.len() - 4].try_into().unwrap());
        assert_eq!(begin as usize, b.len() - 4);
    }

    #[test]
    fn bad_names_dims_and_lengths_are_refused() {
        let mut f = NcFile::new();
        assert!(f.add_dim("1x", 2).is_err());
        assert!(f.add_dim("a/b", 2).is_err());
        assert!(f.add_dim("t", 0).is_err());
        f.add_dim("t", 2).unwrap();
        assert!(f.add_dim("t", 2).is_err());
        let e = f
            .add_var("v", &["t"], NcValues::F32(vec![1.0]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 values") && e.contains("2 expected"), "{e}");
        assert!(f.add_var("v", &["nope"], NcValues::F32(vec![])).is_err());
        assert!(f.set_var_attr("missing", "units", "s").is_err());
        f.add_var("v", &["t"], NcValues::F64(vec![1.0, 2.0]))
            .unwrap();
        assert!(f
            .add_var("v", &["t"], NcValues::F64(vec![1.0, 2.0]))
            .is_err());
    }

    #[test]
    fn every_type_round_trips_through_the_byte_layout() {
        let mut f = NcFile::new();
        f.add_dim("t", 2).unwrap();
        f.add_dim("f", 3).unwrap();
        f.add_var(
            "a",
            &["t", "f"],
            NcValues::F32((0..6).map(|i| i as f32).collect()),
        )
        .unwrap();
        f.add_var("b", &["t"], NcValues::F64(vec![-1.5, 2.5]))
            .unwrap();
        f.add_var("c", &["f"], NcValues::I32(vec![7, -8, 9]))
            .unwrap();
        f.add_var("s", &[], NcValues::F64(vec![42.0])).unwrap();
        f.set_attr("n", 3i32).unwrap();
        let b = f.encode().unwrap();
        // The last variable (a scalar f64) is the last 8 bytes.
        assert_eq!(&b[b.len() - 8..], &42.0f64.to_be_bytes());
        // c's data sits just before it.
        let c_at = b.len() - 8 - 12;
        assert_eq!(be32(&b, c_at + 4) as i32, -8);
        let a_start = b.len() - 8 - 12 - 16 - 24;
        assert_eq!(&b[a_start + 20..a_start + 24], &5.0f32.to_be_bytes());
    }
}
