//! THREDDS catalog pages of a simulated request, as OOI's THREDDS server writes them: the XML
//! InvCatalog 1.0 form (a compound service with OPeNDAP and the HTTP file server, the request
//! folder as a dataset holding one leaf per file written so far, a `catalogRef` to the
//! `ancillary/` sub-catalog once the request is complete), the single-dataset answer to
//! `catalog.xml?dataset=<ID>`, and the HTML form with `catalog.html?dataset=<path>` links.
//!
//! Must not know: HTTP, axum.

use super::requests::Job;

const NS: &str = "http://www.unidata.ucar.edu/namespaces/thredds/InvCatalog/v1.0";
const XLINK: &str = "http://www.w3.org/1999/xlink";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// (name, urlPath) of every file the page lists.
fn entries(job: &Job, sub: &str) -> Vec<(String, String)> {
    let prefix = format!("ooi/{}/{}", job.user, job.dir);
    if sub == "ancillary" {
        if !job.complete() {
            return Vec::new();
        }
        return job
            .ancillary()
            .into_iter()
            .map(|(n, _)| (n.clone(), format!("{prefix}/ancillary/{n}")))
            .collect();
    }
    job.ready_files()
        .map(|f| (f.name.clone(), format!("{prefix}/{}", f.name)))
        .collect()
}

fn services() -> String {
    "  <service name=\"all\" serviceType=\"Compound\" base=\"\">\n    \
     <service name=\"odap\" serviceType=\"OPENDAP\" base=\"/ooi/thredds/dodsC/\" />\n    \
     <service name=\"http\" serviceType=\"HTTPServer\" base=\"/ooi/thredds/fileServer/\" />\n  \
     </service>\n"
        .to_string()
}

/// The page text and content type; `None` when `dataset` names nothing on this page.
pub(crate) fn page(
    job: &Job,
    _base_url: &str,
    sub: &str,
    xml: bool,
    dataset: Option<&str>,
) -> Option<(String, &'static str)> {
    let files = entries(job, sub);
    let folder = if sub.is_empty() {
        job.dir.clone()
    } else {
        format!("{}/{sub}", job.dir)
    };
    if !xml {
        let mut h = format!(
            "<!DOCTYPE html>\n<html><head><title>Catalog Services</title></head><body>\n\
             <h1>Catalog {}</h1>\n<table>\n<tr><th>Dataset</th><th>Size</th></tr>\n",
            esc(&folder)
        );
        h.push_str(&format!(
            "<tr><td><a href='catalog.html?dataset=ooi/{}/{}'><tt>{}</tt></a></td><td></td></tr>\n",
            esc(&job.user),
            esc(&folder),
            esc(&folder)
        ));
        for (name, path) in &files {
            h.push_str(&format!(
                "<tr><td>&nbsp;&nbsp;<a href='catalog.html?dataset={}'><tt>{}</tt></a></td></tr>\n",
                esc(path),
                esc(name)
            ));
        }
        if sub.is_empty() && job.complete() {
            h.push_str(
                "<tr><td><a href='ancillary/catalog.html'><tt>ancillary/</tt></a></td></tr>\n",
            );
        }
        h.push_str("</table></body></html>\n");
        return Some((h, "text/html; charset=UTF-8"));
    }
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<catalog xmlns=\"{NS}\" xmlns:xlink=\"{XLINK}\" version=\"1.0.1\">\n"
    );
    x.push_str(&services());
    let leaf = |name: &str, path: &str| {
        format!(
            "    <dataset name=\"{n}\" ID=\"{p}\" urlPath=\"{p}\">\n      \
             <metadata inherited=\"true\"><serviceName>all</serviceName><dataType>Station</dataType></metadata>\n    \
             </dataset>\n",
            n = esc(name),
            p = esc(path)
        )
    };
    if let Some(id) = dataset {
        let (name, path) = files.iter().find(|(_, p)| p == id)?;
        x.push_str(&leaf(name, path).replacen("    ", "  ", 1));
        x.push_str("</catalog>\n");
        return Some((x, "application/xml; charset=UTF-8"));
    }
    x.push_str(&format!(
        "  <dataset name=\"{}\" ID=\"ooi/{}/{}\">\n    <metadata inherited=\"true\"><serviceName>all</serviceName></metadata>\n",
        esc(&folder),
        esc(&job.user),
        esc(&folder)
    ));
    for (name, path) in &files {
        x.push_str(&leaf(name, path));
    }
    if sub.is_empty() && job.complete() {
        x.push_str(
            "    <catalogRef xlink:href=\"ancillary/catalog.xml\" xlink:title=\"ancillary\" ID=\"ancillary\" name=\"\" />\n",
        );
    }
    x.push_str("  </dataset>\n</catalog>\n");
    Some((x, "application/xml; charset=UTF-8"))
}
