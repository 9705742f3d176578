//! THREDDS catalogs as OOI serves them for a request: the InvCatalog 1.0 XML form
//! (`catalog.xml`: `<dataset urlPath=…>` leaves, `<catalogRef xlink:href=…>` sub-catalogs,
//! `<service base=…>` for the HTTP file server) and the HTML form (`catalog.html`: links
//! `catalog.html?dataset=<urlPath>`, the link text being the file name). A small tolerant tag
//! scanner reads both; it never builds a tree and bounds nothing it does not need.
//!
//! Must not know: HTTP, the engine.

use serde::{Deserialize, Serialize};

/// One file a catalog offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogFile {
    /// The file name (the dataset's `name`, or the last part of its path).
    pub name: String,
    /// The dataset path, e.g. `ooi/<user>/<request>/<file>.nc`.
    pub url_path: String,
    /// Size in bytes when the catalog gives it in bytes (`<dataSize units="bytes">`).
    pub size: Option<u64>,
}

impl CatalogFile {
    /// Whether this is a NetCDF data file (as opposed to provenance/annotation JSON or CSV).
    pub fn is_netcdf(&self) -> bool {
        self.name.to_ascii_lowercase().ends_with(".nc")
    }
}

/// What one catalog page holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogPage {
    /// Leaf datasets.
    pub files: Vec<CatalogFile>,
    /// `href`s of sub-catalogs, as written (relative to the page).
    pub refs: Vec<String>,
    /// The base of the HTTP file service (`/thredds/fileServer/`), when the XML gives one.
    pub file_server_base: Option<String>,
}

/// One `<tag attr="v" …>` found in the text.
struct Tag<'a> {
    name: &'a str,
    attrs: &'a str,
    /// Byte offset just past the tag's `>`.
    end: usize,
}

fn tags(text: &str) -> impl Iterator<Item = Tag<'_>> {
    let mut pos = 0;
    std::iter::from_fn(move || loop {
        let start = pos + text.get(pos..)?.find('<')?;
        let close = start + text[start..].find('>')?;
        pos = close + 1;
        let inner = &text[start + 1..close];
        if inner.starts_with('/') || inner.starts_with('!') || inner.starts_with('?') {
            continue;
        }
        let inner = inner.trim_end_matches('/');
        let (name, attrs) = inner
            .split_once(|c: char| c.is_whitespace())
            .unwrap_or((inner, ""));
        return Some(Tag {
            name,
            attrs,
            end: pos,
        });
    })
}

/// The value of attribute `key` (exact name, e.g. `xlink:href`), entities decoded.
fn attr(attrs: &str, key: &str) -> Option<String> {
    let mut rest = attrs;
    while let Some(i) = rest.find(key) {
        let before_ok = i == 0 || rest.as_bytes()[i - 1].is_ascii_whitespace();
        let after = rest[i + key.len()..].trim_start();
        if before_ok {
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start();
                let q = v.chars().next()?;
                if q == '"' || q == '\'' {
                    let body = &v[1..];
                    let end = body.find(q)?;
                    return Some(unescape(&body[..end]));
                }
            }
        }
        rest = &rest[i + key.len()..];
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn last_part(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_string()
}

/// Reads an InvCatalog 1.0 XML page.
pub fn parse_xml(text: &str) -> CatalogPage {
    let mut page = CatalogPage::default();
    let mut current: Option<usize> = None;
    for tag in tags(text) {
        let local = tag.name.rsplit(':').next().unwrap_or(tag.name);
        match local {
            "dataset" => {
                current = None;
                if let Some(path) = attr(tag.attrs, "urlPath") {
                    let name = attr(tag.attrs, "name")
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| last_part(&path));
                    page.files.push(CatalogFile {
                        name,
                        url_path: path,
                        size: None,
                    });
                    current = Some(page.files.len() - 1);
                }
            }
            "dataSize" => {
                if let Some(i) = current {
                    let units = attr(tag.attrs, "units").unwrap_or_default();
                    let value = text[tag.end..]
                        .split('<')
                        .next()
                        .and_then(|v| v.trim().parse::<f64>().ok());
                    let factor = match units.as_str() {
                        "bytes" => Some(1.0),
                        _ => None, // Kbytes etc. are rounded: not usable as an exact size.
                    };
                    if let (Some(v), Some(f)) = (value, factor) {
                        if v >= 0.0 && v.is_finite() && v < 1e15 {
                            page.files[i].size = Some((v * f) as u64);
                        }
                    }
                }
            }
            "catalogRef" => {
                current = None;
                if let Some(h) = attr(tag.attrs, "xlink:href").or_else(|| attr(tag.attrs, "href")) {
                    page.refs.push(h);
                }
            }
            "service" => {
                let http = attr(tag.attrs, "serviceType")
                    .is_some_and(|t| t.eq_ignore_ascii_case("HTTPServer"));
                if http {
                    page.file_server_base = attr(tag.attrs, "base");
                }
            }
            _ => {}
        }
    }
    page
}

/// Reads a `catalog.html` page: every link `…catalog.html?dataset=<path>` is a file; links to
/// other `…/catalog.html` pages are sub-catalogs.
pub fn parse_html(text: &str) -> CatalogPage {
    let mut page = CatalogPage::default();
    for tag in tags(text) {
        if !tag.name.eq_ignore_ascii_case("a") {
            continue;
        }
        let Some(href) = attr(tag.attrs, "href") else {
            continue;
        };
        if let Some((_, path)) = href.split_once("catalog.html?dataset=") {
            let path = path.split('&').next().unwrap_or(path).to_string();
            if path.is_empty() {
                continue;
            }
            page.files.push(CatalogFile {
                name: last_part(&path),
                url_path: path,
                size: None,
            });
        } else if href.ends_with("catalog.html")
            && !href.starts_with("http")
            && !href.starts_with('/')
            && !href.starts_with("..")
            && href != "catalog.html"
        {
            // Only sub-catalogs below this one: the page's links up to the server's root
            // catalog (`/thredds/catalog.html`) would crawl the whole server.
            page.refs.push(href);
        }
    }
    page
}

/// Resolves `href` against the page URL `base` (absolute URL, absolute path, or relative).
pub fn join_url(base: &str, href: &str) -> String {
    if href.starts_with("http://") || href.starts_with("https://") {
        return href.to_string();
    }
    let origin_end = base
        .find("://")
        .and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(base.len());
    if href.starts_with('/') {
        return format!("{}{}", &base[..origin_end], href);
    }
    let dir_end = base
        .rfind('/')
        .filter(|&i| i >= origin_end)
        .unwrap_or(base.len());
    let mut parts: Vec<&str> = base[origin_end..dir_end.min(base.len())]
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    for seg in href.split('/') {
        match seg {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("{}/{}", &base[..origin_end], parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<catalog xmlns="http://www.unidata.ucar.edu/namespaces/thredds/InvCatalog/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.0.1">
  <service name="all" serviceType="Compound" base="">
    <service name="odap" serviceType="OPENDAP" base="/thredds/dodsC/" />
    <service name="http" serviceType="HTTPServer" base="/thredds/fileServer/" />
  </service>
  <dataset name="req" ID="ooi/u/req">
    <dataset name="deployment0001_X.nc" ID="ooi/u/req/deployment0001_X.nc" urlPath="ooi/u/req/deployment0001_X.nc">
      <dataSize units="bytes">1234</dataSize>
    </dataset>
    <dataset name="b.json" ID="ooi/u/req/b.json" urlPath="ooi/u/req/b.json"><dataSize units="Kbytes">1.2</dataSize></dataset>
    <catalogRef xlink:href="ancillary/catalog.xml" xlink:title="ancillary" name="" />
  </dataset>
</catalog>"#;

    #[test]
    fn reads_xml_and_html() {
        let p = parse_xml(XML);
        assert_eq!(p.files.len(), 2);
        assert_eq!(p.files[0].size, Some(1234));
        assert!(p.files[0].is_netcdf() && !p.files[1].is_netcdf());
        assert_eq!(p.files[1].size, None);
        assert_eq!(p.refs, vec!["ancillary/catalog.xml".to_string()]);
        assert_eq!(p.file_server_base.as_deref(), Some("/thredds/fileServer/"));
        let html = r#"<html><a href='catalog.html?dataset=ooi/u/req/a.nc'><tt>a.nc</tt></a>
            <a href="ancillary/catalog.html"><tt>ancillary/</tt></a><a href="/thredds/catalog.html">up</a></html>"#;
        let h = parse_html(html);
        assert_eq!(h.files[0].url_path, "ooi/u/req/a.nc");
        assert_eq!(h.refs, vec!["ancillary/catalog.html".to_string()]);
        assert!(parse_xml("<catalog><dataset urlPath=").files.is_empty());
    }

    #[test]
    fn joins_urls() {
        let b = "http://h:1/ooi/thredds/catalog/ooi/u/r/catalog.xml";
        assert_eq!(
            join_url(b, "sub/catalog.xml"),
            "http://h:1/ooi/thredds/catalog/ooi/u/r/sub/catalog.xml"
        );
        assert_eq!(
            join_url(b, "/thredds/fileServer/"),
            "http://h:1/thredds/fileServer/"
        );
        assert_eq!(
            join_url(b, "../x.xml"),
            "http://h:1/ooi/thredds/catalog/ooi/u/x.xml"
        );
    }
}
