//! The data dictionary (数据字典) as a file: CSV (UTF-8 with a byte-order mark, so spreadsheet
//! programs read the Chinese text) and XLSX, with the same header and rows. The rows come from
//! `zhongshu_engine::standards::dictionary`, which keeps only what the reader may discover.

use zhongshu_engine::standards::DictionaryRow;

/// The header, Chinese and English.
const HEADER: [&str; 13] = [
    "部门 department",
    "资源代码 resource",
    "资源名称 resource name",
    "字段 column",
    "信息项名称 title",
    "数据类型 type",
    "数据元 element",
    "来源 binding",
    "分类 category",
    "分级 grade",
    "共享属性 sharing",
    "开放属性 open",
    "更新周期 update cycle",
];

fn cells(r: &DictionaryRow) -> [&str; 13] {
    [
        &r.department,
        &r.resource,
        &r.resource_name,
        &r.column,
        &r.title,
        &r.data_type,
        &r.element,
        &r.binding,
        &r.category,
        &r.grade,
        &r.share,
        &r.open,
        &r.update_cycle,
    ]
}

/// The dictionary as CSV.
pub fn csv(rows: &[DictionaryRow]) -> Result<Vec<u8>, String> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(HEADER).map_err(|e| e.to_string())?;
        for r in rows {
            writer.write_record(cells(r)).map_err(|e| e.to_string())?;
        }
        writer.flush().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The dictionary as an XLSX workbook of one sheet, 数据字典, header bold and frozen.
pub fn xlsx(rows: &[DictionaryRow]) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("数据字典").map_err(fail)?;
    let bold = Format::new().set_bold();
    for (c, h) in HEADER.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(fail)?;
        sheet.set_column_width(c as u16, 18).map_err(fail)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = u32::try_from(i + 1).map_err(|e| e.to_string())?;
        for (c, v) in cells(r).iter().enumerate() {
            sheet.write_string(row, c as u16, *v).map_err(fail)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(fail)?;
    book.save_to_buffer().map_err(fail)
}
