#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn smoke() {
        let v = Spi::get_one::<pgrx::JsonB>("SELECT learnings_list()").unwrap();
        assert!(v.is_some());
    }
}
