//! Discovery → plan rows (by location / by device), the XLSX workbook (rows + Configuration
//! sheet) read and write, date-range splitting → engine tasks.
//!
//! Must not know: hydrophone specifics.
