//! A minimal PDF 1.4 writer for one raster image per page: the page is the image's size in
//! points (1 px = 1 pt), the image an RGB XObject compressed with Flate (zlib). Enough for a
//! plot (e.g. an HSD spectrogram) that any viewer, `pdftoppm` or a print shop opens.
//!
//! Layout: header with a binary comment line, objects 1 Catalog, 2 Pages, 3 Page, 4 Image,
//! 5 content stream (`q W 0 0 H 0 0 cm /Im0 Do Q`), then the cross-reference table with each
//! object's byte offset and the trailer.
//!
//! Must not know: what the image shows, file names.

use std::io::Write;

use flate2::{write::ZlibEncoder, Compression};
use image::RgbImage;

use super::error::MediaError;

/// `img` as a one-page PDF 1.4 document.
pub fn encode_pdf(img: &RgbImage, title: &str) -> Result<Vec<u8>, MediaError> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return Err(MediaError::Invalid {
            file: "<pdf>".into(),
            field: "image size",
            reason: format!("{w}×{h} pixels"),
        });
    }
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(img.as_raw()).map_err(io_err)?;
    let pixels = z.finish().map_err(io_err)?;
    let content = format!("q\n{w} 0 0 {h} 0 0 cm\n/Im0 Do\nQ\n");

    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(6);
    let mut obj = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", offsets.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    obj(&mut out, b"<< /Type /Catalog /Pages 2 0 R >>");
    obj(&mut out, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    obj(
        &mut out,
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] \
             /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>"
        )
        .as_bytes(),
    );
    let mut image = format!(
        "<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceRGB \
         /BitsPerComponent 8 /Filter /FlateDecode /Length {} >>\nstream\n",
        pixels.len()
    )
    .into_bytes();
    image.extend_from_slice(&pixels);
    image.extend_from_slice(b"\nendstream");
    obj(&mut out, &image);
    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(content.as_bytes());
    stream.extend_from_slice(b"endstream");
    obj(&mut out, &stream);
    let info = format!("<< /Title ({}) /Producer (onc-hydro) >>", pdf_text(title));
    obj(&mut out, info.as_bytes());

    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes(),
    );
    for o in &offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            offsets.len() + 1,
            offsets.len()
        )
        .as_bytes(),
    );
    Ok(out)
}

/// `s` as the inside of a PDF literal string: printable ASCII, with `\`, `(` and `)` escaped.
fn pdf_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .flat_map(|c| match c {
            '\\' | '(' | ')' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

fn io_err(source: std::io::Error) -> MediaError {
    MediaError::Io {
        file: "<pdf image stream>".into(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn one_page_with_the_image_and_a_correct_xref() {
        let mut img = RgbImage::from_pixel(30, 20, image::Rgb([255, 255, 255]));
        img.put_pixel(3, 4, image::Rgb([10, 20, 30]));
        let pdf = encode_pdf(&img, "a (b) \\ c").unwrap();
        let find = |hay: &[u8], needle: &[u8]| {
            hay.windows(needle.len())
                .position(|w| w == needle)
                .expect("present")
        };
        let ascii =
            |from: usize, len: usize| String::from_utf8_lossy(&pdf[from..from + len]).to_string();
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        find(&pdf, b"/MediaBox [0 0 30 20]");
        find(&pdf, b"/Title (a \\(b\\) \\\\ c)");
        // Every xref offset points at its "N 0 obj".
        let sx = pdf.windows(10).rposition(|w| w == b"startxref\n").unwrap() + 10;
        let xref_at: usize = ascii(sx, pdf.len() - sx)
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let table = ascii(xref_at, sx - xref_at);
        assert!(table.starts_with("xref\n0 7\n"), "{table}");
        for (i, line) in table.lines().skip(3).take(6).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            let want = format!("{} 0 obj", i + 1);
            assert_eq!(
                &pdf[off..off + want.len()],
                want.as_bytes(),
                "object {}",
                i + 1
            );
        }
        // The image stream inflates to the pixels.
        let im = find(&pdf, b"/Subtype /Image");
        let len_at = im + find(&pdf[im..], b"/Length ") + 8;
        let len: usize = ascii(len_at, 20)
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let start = len_at + find(&pdf[len_at..], b"stream\n") + 7;
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&pdf[start..start + len])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(raw, img.as_raw().as_slice());
        assert!(encode_pdf(&RgbImage::new(0, 5), "x").is_err());
    }
}
