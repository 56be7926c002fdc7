//! `uniffi-bindgen generate --library libsuishoupai.so --language kotlin --out-dir DIR`
fn main() {
    uniffi::uniffi_bindgen_main()
}
