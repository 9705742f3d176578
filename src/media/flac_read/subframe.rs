//! Subframes of the FLAC decoder: constant, verbatim, fixed and LPC subframes with their
//! warm-up samples, wasted bits and partitioned rice residuals (escape partitions included).
//!
//! Must not know: frame headers, channel decorrelation, checksums (`mod.rs`).

use super::bits::{rice, Bits};
use super::lpc::{fixed_restore, lpc_restore};
use super::{fail, Fail};

#[inline(always)]
pub(super) fn subframe(bits: &mut Bits<'_>, width: u32, out: &mut [i32]) -> Result<(), Fail> {
    if bits.read(1)? != 0 {
        return fail("subframe padding bit set");
    }
    let kind = bits.read(6)?;
    let wasted = if bits.read(1)? == 1 {
        bits.unary()? + 1
    } else {
        0
    };
    if wasted >= width {
        return fail(format!("{wasted} wasted bits of {width}"));
    }
    let w = width - wasted;
    match kind {
        0 => {
            let v = bits.read_signed(w)?;
            out.fill(v);
        }
        1 => {
            for s in out.iter_mut() {
                *s = bits.read_signed(w)?;
            }
        }
        8..=12 => {
            let order = (kind - 8) as usize;
            warmup(bits, w, order, out)?;
            residual(bits, order, out)?;
            fixed_restore(order, out);
        }
        32..=63 => {
            let order = (kind - 31) as usize;
            warmup(bits, w, order, out)?;
            let precision = bits.read(4)? + 1;
            if precision == 16 {
                return fail("LPC precision 16 (invalid)");
            }
            let shift = bits.read_signed(5)?;
            if shift < 0 {
                return fail("negative LPC shift");
            }
            let mut coefs = [0i32; 32];
            for c in coefs[..order].iter_mut() {
                *c = bits.read_signed(precision)?;
            }
            residual(bits, order, out)?;
            lpc_restore(&coefs[..order], shift as u32, out);
        }
        _ => return fail(format!("reserved subframe type {kind}")),
    }
    if wasted > 0 {
        for s in out.iter_mut() {
            *s = s.wrapping_shl(wasted);
        }
    }
    Ok(())
}

#[inline(always)]
fn warmup(bits: &mut Bits<'_>, w: u32, order: usize, out: &mut [i32]) -> Result<(), Fail> {
    if order > out.len() {
        return fail(format!(
            "predictor order {order} above the block size {}",
            out.len()
        ));
    }
    for s in out[..order].iter_mut() {
        *s = bits.read_signed(w)?;
    }
    Ok(())
}

/// The partitioned residual of a subframe after `order` warm-up samples, into `out[order..]`
/// (escape partitions included).
#[inline(always)]
fn residual(bits: &mut Bits<'_>, order: usize, out: &mut [i32]) -> Result<(), Fail> {
    let method = bits.read(2)?;
    let (param_bits, escape) = match method {
        0 => (4, 15),
        1 => (5, 31),
        _ => return fail("reserved residual coding method"),
    };
    let part_order = bits.read(4)?;
    let parts = 1usize << part_order;
    let n = out.len();
    if !n.is_multiple_of(parts) || n / parts < order {
        return fail(format!(
            "partition order {part_order} does not fit a block of {n}"
        ));
    }
    let per = n / parts;
    let mut at = order;
    for p in 0..parts {
        let end = (p + 1) * per;
        let k = bits.read(param_bits)?;
        let slot = &mut out[at..end];
        if k == escape {
            let raw = bits.read(5)?;
            if raw == 0 {
                slot.fill(0);
            } else {
                for s in slot.iter_mut() {
                    *s = bits.read_signed(raw)?;
                }
            }
        } else {
            rice(bits, k, slot)?;
        }
        at = end;
    }
    Ok(())
}
