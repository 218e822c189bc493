//! The standard data elements every zhongshu catalog starts with.
//!
//! These are the elements the plans and national standards name: identity numbers (GB 11643),
//! credit codes (GB 32100), division codes (GB/T 2260), sex (GB/T 2261.1) and the personal,
//! property and licence items that recur across departments. `zhongshu init` registers them.

use crate::classification::{Category, Grade};
use crate::ids::ElementId;
use crate::model::DataElement;
use crate::validators::Validator;

#[allow(clippy::too_many_arguments)] // a table row reads best as one call
fn element(
    id: &str,
    name: &str,
    name_en: &str,
    standard: Option<&str>,
    data_type: &str,
    validator: Option<Validator>,
    category: Category,
    grade: Grade,
    description: &str,
) -> DataElement {
    DataElement {
        id: ElementId::new(id),
        name: name.into(),
        name_en: name_en.into(),
        standard: standard.map(Into::into),
        data_type: data_type.into(),
        validator,
        default_category: category,
        default_grade: grade,
        description: description.into(),
    }
}

/// The standard data elements.
pub fn standard_elements() -> Vec<DataElement> {
    use Category::*;
    use Grade::*;
    vec![
        element("resident_id", "公民身份号码", "Resident identity number", Some("GB 11643-1999"), "string", Some(Validator::ResidentId), PersonalSensitive, L4, "18位公民身份号码，含地址码、出生日期码、顺序码和校验码"),
        element("person_name", "姓名", "Personal name", Some("GA/T 2000.156"), "string", None, Personal, L3, "自然人姓名"),
        element("sex", "性别", "Sex", Some("GB/T 2261.1-2003"), "string", Some(Validator::SexCode), Personal, L2, "性别代码：0未知、1男、2女、9未说明"),
        element("birth_date", "出生日期", "Date of birth", Some("GB/T 7408"), "date", None, Personal, L3, "出生日期 YYYY-MM-DD"),
        element("mobile", "手机号码", "Mobile number", None, "string", Some(Validator::Mobile), Personal, L3, "11位移动电话号码"),
        element("address", "地址", "Address", None, "string", None, Personal, L3, "住址或登记地址"),
        element("division_code", "行政区划代码", "Administrative division code", Some("GB/T 2260"), "string", Some(Validator::DivisionCode), Public, L1, "GB/T 2260 行政区划代码，街道、社区扩展至9位、12位"),
        element("uscc", "统一社会信用代码", "Unified social credit code", Some("GB 32100-2015"), "string", Some(Validator::Uscc), Organisation, L1, "法人和其他组织统一社会信用代码"),
        element("org_name", "单位名称", "Organisation name", None, "string", None, Organisation, L1, "法人或其他组织名称"),
        element("real_estate_unit", "不动产单元号", "Real estate unit number", Some("GB/T 37346"), "string", None, Public, L2, "28位不动产单元代码"),
        element("licence_no", "证照编号", "Licence number", Some("GB/T 36904"), "string", None, Public, L2, "电子证照编号"),
        element("bank_card", "银行卡号", "Bank card number", None, "string", Some(Validator::BankCard), PersonalSensitive, L4, "银行卡号，Luhn 校验"),
        element("email", "电子邮箱", "E-mail address", None, "string", Some(Validator::Email), Personal, L3, "电子邮件地址"),
        element("device_id", "设备编码", "IoT device identifier", None, "string", None, Iot, L2, "物联感知设备唯一编码"),
    ]
}
