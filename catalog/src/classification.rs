//! Classification and grading (分类分级) after GB/T 43697-2024, and the other closed
//! vocabularies of the resource catalogue (GB/T 21063.3).
//!
//! Each vocabulary is an enum with a stable storage code (`as_code`), a Chinese label (`label`)
//! and a parser that accepts either. Grades are ordered from low to high so that "the highest of
//! its columns" (就高从严) is a plain `max`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An unknown value for one of the closed vocabularies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} `{value}`; expected one of: {expected}")]
pub struct UnknownValue {
    /// Which vocabulary was being parsed.
    pub vocabulary: &'static str,
    /// The text that did not parse.
    pub value: String,
    /// The accepted spellings.
    pub expected: String,
}

macro_rules! vocabulary {
    (
        $(#[$doc:meta])* $name:ident, $vocab:literal,
        { $( $(#[$vdoc:meta])* $variant:ident => ($code:literal, $label:literal $(, $alias:literal)*) ),+ $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub enum $name {
            $( $(#[$vdoc])* $variant ),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code stored in the catalog and used in APIs.
            pub fn as_code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese label shown to users.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let s = s.trim();
                $(
                    if s.eq_ignore_ascii_case($code) || s == $label $(|| s == $alias)* {
                        return Ok($name::$variant);
                    }
                )+
                Err(UnknownValue {
                    vocabulary: $vocab,
                    value: s.to_owned(),
                    expected: [$(concat!($code, " (", $label, ")")),+].join(", "),
                })
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_code().to_owned()
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownValue;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
    };
}

vocabulary!(
    /// Data grade (数据分级), GB/T 43697-2024, from low to high. A resource's grade is the highest
    /// grade of its columns.
    Grade, "grade", {
        /// 一般数据 L1 公开.
        L1 => ("L1", "一般-L1公开", "L1公开", "公开"),
        /// 一般数据 L2 内部.
        L2 => ("L2", "一般-L2内部", "L2内部", "内部"),
        /// 一般数据 L3 敏感.
        L3 => ("L3", "一般-L3敏感", "L3敏感", "敏感"),
        /// 一般数据 L4 高敏感.
        L4 => ("L4", "一般-L4高敏感", "L4高敏感", "高敏感"),
        /// 重要数据.
        Important => ("important", "重要数据"),
        /// 核心数据.
        Core => ("core", "核心数据"),
    }
);

vocabulary!(
    /// Data category (数据分类).
    Category, "category", {
        /// 公共数据: data produced by public administration that identifies no person.
        Public => ("public", "公共数据"),
        /// 个人信息.
        Personal => ("personal", "个人信息"),
        /// 个人敏感信息 (e.g. identity numbers, bank accounts, health).
        PersonalSensitive => ("personal_sensitive", "个人敏感信息"),
        /// 组织信息: legal persons and other organisations.
        Organisation => ("organisation", "组织信息", "法人信息"),
        /// 物联感知数据: device and sensor data.
        Iot => ("iot", "物联感知数据"),
    }
);

vocabulary!(
    /// Sharing attribute (共享属性), GB/T 21063.
    ShareAttr, "sharing attribute", {
        /// 无条件共享.
        Unconditional => ("unconditional", "无条件共享"),
        /// 有条件共享.
        Conditional => ("conditional", "有条件共享"),
        /// 不予共享.
        NotShared => ("not_shared", "不予共享"),
    }
);

vocabulary!(
    /// Open attribute (开放属性).
    OpenAttr, "open attribute", {
        /// 无条件开放.
        Unconditional => ("unconditional", "无条件开放"),
        /// 有条件开放.
        Conditional => ("conditional", "有条件开放"),
        /// 不予开放.
        NotOpen => ("not_open", "不予开放"),
    }
);

vocabulary!(
    /// Library tier (库).
    LibraryTier, "library tier", {
        /// 基础库: population, legal persons, housing, spatial, e-licences, credit.
        Base => ("base", "基础库"),
        /// 主题库.
        Theme => ("theme", "主题库"),
        /// 专题库.
        Special => ("special", "专题库"),
        /// 部门库: departmental and raw data.
        Department => ("department", "部门库"),
    }
);

vocabulary!(
    /// Update cycle (更新周期).
    UpdateCycle, "update cycle", {
        /// 实时.
        Realtime => ("realtime", "实时"),
        /// 每日.
        Daily => ("daily", "每日"),
        /// 每周.
        Weekly => ("weekly", "每周"),
        /// 每月.
        Monthly => ("monthly", "每月"),
        /// 每季度.
        Quarterly => ("quarterly", "每季度"),
        /// 每年.
        Yearly => ("yearly", "每年"),
        /// 不定期.
        Irregular => ("irregular", "不定期"),
    }
);

vocabulary!(
    /// Kind of organisation unit.
    OrgKind, "organisation kind", {
        /// 区政府 or another government at the root of the tree.
        Government => ("government", "人民政府"),
        /// 市级部门: a municipal bureau that sends back-flow data.
        MunicipalBureau => ("municipal_bureau", "市级部门"),
        /// 区级部门.
        DistrictDepartment => ("district_department", "区级部门"),
        /// 街道.
        Street => ("street", "街道"),
        /// 社区.
        Community => ("community", "社区"),
        /// 外部单位: banks, other governments and other recipients.
        External => ("external", "外部单位"),
    }
);

vocabulary!(
    /// Role of a principal.
    Role, "role", {
        /// 系统管理员.
        Admin => ("admin", "系统管理员"),
        /// 首席数据官.
        Cdo => ("cdo", "首席数据官"),
        /// 首席隐私官.
        PrivacyOfficer => ("privacy_officer", "首席隐私官"),
        /// 数据专员.
        DataOfficer => ("data_officer", "数据专员"),
        /// 数据分析人员.
        Analyst => ("analyst", "数据分析人员"),
        /// 审计员.
        Auditor => ("auditor", "审计员"),
    }
);

vocabulary!(
    /// Kind of principal.
    PrincipalKind, "principal kind", {
        /// A person.
        User => ("user", "用户"),
        /// A system of a department.
        Service => ("service", "服务账号"),
        /// An external recipient (another government, a bank).
        External => ("external", "外部接收方"),
        /// The anonymous public.
        Public => ("public", "公众"),
    }
);

vocabulary!(
    /// How a column carries a data element.
    BindingRole, "binding role", {
        /// The one authoritative source of the element (一数一源).
        Source => ("source", "权威来源"),
        /// A copy that must agree with the source.
        Replica => ("replica", "副本"),
    }
);

vocabulary!(
    /// Status of a sensitive-data discovery suggestion.
    SuggestionStatus, "suggestion status", {
        /// Waiting for a data officer.
        Pending => ("pending", "待确认"),
        /// Accepted: the column was classified (and bound) accordingly.
        Accepted => ("accepted", "已接受"),
        /// Rejected by a data officer.
        Rejected => ("rejected", "已拒绝"),
    }
);

impl Grade {
    /// Grades at or above this level may not be opened unconditionally.
    pub const FIRST_SENSITIVE: Grade = Grade::L3;

    /// Whether data of this grade may carry the open attribute 无条件开放.
    pub fn may_open_unconditionally(self) -> bool {
        self < Self::FIRST_SENSITIVE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_are_ordered_low_to_high() {
        assert!(Grade::L1 < Grade::L2);
        assert!(Grade::L4 < Grade::Important);
        assert!(Grade::Important < Grade::Core);
        assert_eq!(
            [Grade::L2, Grade::L4, Grade::L1].into_iter().max(),
            Some(Grade::L4)
        );
    }

    #[test]
    fn vocabularies_parse_code_and_label() {
        assert_eq!("L3".parse::<Grade>(), Ok(Grade::L3));
        assert_eq!("重要数据".parse::<Grade>(), Ok(Grade::Important));
        assert_eq!(
            "个人敏感信息".parse::<Category>(),
            Ok(Category::PersonalSensitive)
        );
        assert_eq!("基础库".parse::<LibraryTier>(), Ok(LibraryTier::Base));
        let err = "L9".parse::<Grade>().unwrap_err();
        assert!(err.to_string().contains("L1 (一般-L1公开)"), "{err}");
    }

    #[test]
    fn serde_uses_codes() {
        let json = serde_json::to_string(&Grade::Important).unwrap();
        assert_eq!(json, "\"important\"");
        let back: Grade = serde_json::from_str("\"L2\"").unwrap();
        assert_eq!(back, Grade::L2);
    }
}
