//! Field coercion: any JSON for any field type is accepted (and then read back by the
//! type's getters, keeping the type's promises) or refused with a message naming the
//! field; through a framework backend, a refusal is a 400 error response and the handler
//! never runs.

use super::*;

fn one_field(name: &str, ty: FieldType, value: Value) -> FieldData {
    let mut schema = FieldMap::new();
    schema.insert(
        name.to_string(),
        FieldSchema::new(ty, "A field under test."),
    );
    let mut raw = JsonMap::new();
    raw.insert(name.to_string(), value);
    FieldData::new(raw, Arc::new(schema))
}

/// A refusal of field `name` reads `... for field "<name>": <reason>` with a reason.
fn assert_names_field(message: &str, name: &str) -> Result<(), TestCaseError> {
    let marker = format!("for field {name:?}: ");
    let at = message.find(&marker);
    prop_assert!(at.is_some(), "{message:?} does not name field {name:?}");
    let reason = &message[at.unwrap_or(0) + marker.len()..];
    prop_assert!(!reason.trim().is_empty(), "{message:?} gives no reason");
    prop_assert!(
        message.starts_with("error converting input ") || message.starts_with("invalid input "),
        "{message:?} is not a field validation message"
    );
    Ok(())
}

/// After validation, the getter of the field's type reads it without error, and the
/// value keeps the type's promises.
fn assert_reads_back(
    fd: &FieldData,
    name: &str,
    ty: FieldType,
    raw: &Value,
) -> Result<(), TestCaseError> {
    let value = fd.get(name);
    prop_assert!(value.is_ok(), "validated {raw} but get failed: {value:?}");
    let got_ok = fd.get_ok(name);
    prop_assert!(
        got_ok.is_ok(),
        "validated {raw} but get_ok failed: {got_ok:?}"
    );
    match ty {
        FieldType::String | FieldType::LowerCaseString | FieldType::NameString => {
            let s = fd.get_string(name);
            prop_assert!(s.is_ok(), "{s:?}");
            let s = s.unwrap_or_default();
            if ty == FieldType::LowerCaseString
                && let Value::String(raw) = raw
            {
                prop_assert_eq!(&s, &raw.to_lowercase());
            }
            if ty == FieldType::NameString {
                prop_assert!(is_vault_name(&s, false), "{s:?} is not a name");
            }
        }
        FieldType::Int => {
            let n = fd.get_int(name);
            prop_assert!(n.is_ok(), "{n:?}");
            if let Some(i) = raw.as_i64() {
                prop_assert_eq!(n.unwrap_or_default(), i);
            }
        }
        FieldType::Bool => prop_assert!(fd.get_bool(name).is_ok()),
        FieldType::DurationSecond | FieldType::SignedDurationSecond => {
            let secs = fd.get_seconds(name);
            prop_assert!(secs.is_ok(), "{secs:?}");
            if ty == FieldType::DurationSecond {
                prop_assert!(secs.clone().unwrap_or(-1) >= 0, "negative {secs:?}");
                let d = fd.get_duration(name);
                prop_assert!(d.is_ok(), "{d:?}");
            }
        }
        FieldType::StringSlice | FieldType::CommaStringSlice => {
            let list = fd.get_list(name);
            prop_assert!(list.is_ok(), "{list:?}");
            for item in list.unwrap_or_default() {
                prop_assert_eq!(item.trim(), item.as_str(), "items are trimmed");
            }
        }
        FieldType::KvPairs => {
            let pairs = fd.get_kv_pairs(name);
            prop_assert!(pairs.is_ok(), "{pairs:?}");
        }
        FieldType::Map => prop_assert!(fd.get_map(name).is_ok()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(768))]

    /// Any JSON for any field type: validation accepts it (and then every getter of that
    /// type reads it back, keeping the type's promises), or refuses it with a message
    /// naming the field and the reason. Validation and the getters always agree.
    #[test]
    fn field_validation_accepts_or_names_the_field(
        name in field_name(),
        ty in field_type(),
        value in json_value(),
    ) {
        let fd = one_field(&name, ty, value.clone());
        match fd.validate() {
            Ok(()) => assert_reads_back(&fd, &name, ty, &value)?,
            Err(message) => {
                assert_names_field(&message, &name)?;
                // A coercion failure shows up in the getter too (as the internal error a
                // handler never meets, because dispatch validates first).
                if message.starts_with("error converting input ") {
                    let got = fd.get_ok(&name);
                    prop_assert!(got.is_err(), "getter accepted what validate refused: {got:?}");
                }
            }
        }
    }

    /// Fields outside the schema are never validated, whatever they hold.
    #[test]
    fn unknown_fields_are_ignored_by_validation(
        raw in prop::collection::btree_map("[a-z]{1,8}", json_value(), 0..6),
    ) {
        let fd = FieldData::new(raw.into_iter().collect(), Arc::new(FieldMap::new()));
        prop_assert_eq!(fd.validate(), Ok(()));
    }
}

/// A backend with one path `echo` holding a field of every type; its handler stores the
/// request data, and its existence check says "absent", so every write is a create.
async fn echo_backend() -> TestBackend {
    let mut path = Path::new("echo")
        .existence_check(|_ctx, _req, _data| async { Ok(false) })
        .help("Echoes.", "Stores what it is given.");
    for (i, ty) in ALL_TYPES.iter().enumerate() {
        path = path.field(
            format!("f{i}"),
            FieldSchema::new(*ty, "A field under test."),
        );
    }
    let store = PathOperation::new(|ctx, _req, data| async move {
        ctx.storage()
            .put_json("echo", &Value::Object(data.raw().clone()))
            .await?;
        Ok(None)
    });
    let path = path
        .operation(Operation::Create, store.clone())
        .operation(Operation::Update, store);
    TestBackend::from_builder(Backend::builder().help("Echo.").path(path))
        .await
        .expect("mount")
}

fn echo_data() -> impl Strategy<Value = JsonMap> {
    let keys: Vec<String> = (0..ALL_TYPES.len())
        .map(|i| format!("f{i}"))
        .chain(["other".to_string()])
        .collect();
    prop::collection::btree_map(prop::sample::select(keys), json_value(), 0..5)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(config(256))]

    /// A write through dispatch: the existence check refuses exactly the data validation
    /// refuses (as a `UserError`, a 400 there), the request then answers a 400 error
    /// response `Field validation failed: ...` naming the field without running the
    /// handler (nothing stored); valid data reaches the handler.
    #[test]
    fn dispatch_refuses_bad_fields_with_a_400_naming_the_field(data in echo_data()) {
        let rt = runtime();
        rt.block_on(async {
            let tb = echo_backend().await;
            let mut schema = FieldMap::new();
            for (i, ty) in ALL_TYPES.iter().enumerate() {
                schema.insert(format!("f{i}"), FieldSchema::new(*ty, "A field under test."));
            }
            let expected = FieldData::new(data.clone(), Arc::new(schema)).validate();

            let check = tb
                .backend()
                .handle_existence_check(tb.request(Operation::Create, "echo", data.clone()))
                .await;
            match (&check, &expected) {
                (Ok(c), Ok(())) => prop_assert!(c.check_found && !c.exists),
                (Err(e @ Error::User(m)), Err(why)) => {
                    prop_assert_eq!(status_of_error(e, Phase::Existence), 400);
                    prop_assert_eq!(m, why);
                }
                _ => prop_assert!(false, "existence check {check:?} vs validation {expected:?}"),
            }

            let result = tb.handle(tb.request(Operation::Create, "echo", data.clone())).await;
            let refused = assert_user_grade("echo", &result)?;
            let stored = snapshot(tb.storage()).await;
            match expected {
                Ok(()) => {
                    prop_assert!(!refused, "valid data refused: {result:?}");
                    prop_assert!(stored.contains_key("echo"));
                }
                Err(why) => {
                    prop_assert!(refused);
                    prop_assert_eq!(status_of(&result), 400);
                    let message = refusal_message(&result).unwrap_or_default();
                    prop_assert_eq!(message, format!("Field validation failed: {why}"));
                    let field = why
                        .split("for field ")
                        .nth(1)
                        .and_then(|rest| rest.split(':').next())
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_string();
                    assert_names_field(&why, &field)?;
                    prop_assert!(stored.is_empty(), "a refused write stored {stored:?}");
                }
            }
            Ok(())
        })?;
    }
}
