//! Rows of delimited text (a bulk extract file: CSV unless asked otherwise) read as the bytes
//! arrive: a chunk may end anywhere, inside a field, a quoted line break or a multi-byte
//! character. Quoted fields may hold the separator, line breaks and doubled quotes (RFC 4180);
//! `\r` outside quotes is dropped, so `\r\n` and `\n` both end a row; blank lines are skipped.

/// Reads rows from chunks of bytes; only the row being read is held.
pub struct RowReader {
    separator: u8,
    field: Vec<u8>,
    row: Vec<String>,
    in_quotes: bool,
    /// A quote just closed a quoted section: another quote means a literal one.
    after_quote: bool,
}

impl RowReader {
    pub fn new(separator: u8) -> Self {
        RowReader {
            separator,
            field: Vec::new(),
            row: Vec::new(),
            in_quotes: false,
            after_quote: false,
        }
    }

    /// Reads `bytes`, handing each complete row to `each`; stops at the first error `each` gives.
    pub fn feed<E>(
        &mut self,
        bytes: &[u8],
        each: &mut impl FnMut(Vec<String>) -> Result<(), E>,
    ) -> Result<(), E> {
        for &byte in bytes {
            if self.in_quotes {
                if byte == b'"' {
                    self.in_quotes = false;
                    self.after_quote = true;
                } else {
                    self.field.push(byte);
                }
                continue;
            }
            let after_quote = std::mem::take(&mut self.after_quote);
            match byte {
                b'"' if after_quote => {
                    self.field.push(b'"');
                    self.in_quotes = true;
                }
                b'"' if self.field.is_empty() => self.in_quotes = true,
                b'\r' => {}
                b'\n' => self.end_row(each)?,
                b if b == self.separator => self.end_field(),
                b => self.field.push(b),
            }
        }
        Ok(())
    }

    /// Ends the input: a last row without a line break still counts.
    pub fn finish<E>(
        &mut self,
        each: &mut impl FnMut(Vec<String>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.in_quotes = false;
        self.after_quote = false;
        self.end_row(each)
    }

    fn end_field(&mut self) {
        let bytes = std::mem::take(&mut self.field);
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        self.row.push(text);
    }

    fn end_row<E>(&mut self, each: &mut impl FnMut(Vec<String>) -> Result<(), E>) -> Result<(), E> {
        let blank = self.row.is_empty() && self.field.is_empty();
        self.end_field();
        let row = std::mem::take(&mut self.row);
        if blank {
            return Ok(());
        }
        each(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of `text` fed in chunks of `size` bytes.
    fn rows(text: &str, size: usize) -> Vec<Vec<String>> {
        let mut reader = RowReader::new(b',');
        let mut rows = Vec::new();
        let mut each = |row: Vec<String>| -> Result<(), ()> {
            rows.push(row);
            Ok(())
        };
        for chunk in text.as_bytes().chunks(size) {
            reader.feed(chunk, &mut each).unwrap();
        }
        reader.finish(&mut each).unwrap();
        rows
    }

    #[test]
    fn rows_are_the_same_whatever_the_chunks() {
        let text = "leadId,statusName,updatedAt\r\n1,\"Invited, then \"\"Registered\"\"\",null\n\n2,\"two\nlines\",2020-01-08T18:10:26Z\n3,Zoë,x";
        let expected = vec![
            vec!["leadId", "statusName", "updatedAt"],
            vec!["1", "Invited, then \"Registered\"", "null"],
            vec!["2", "two\nlines", "2020-01-08T18:10:26Z"],
            vec!["3", "Zoë", "x"],
        ];
        for size in [1, 2, 3, 7, 1000] {
            assert_eq!(rows(text, size), expected, "chunks of {size}");
        }
    }

    #[test]
    fn empty_fields_and_other_separators() {
        assert_eq!(rows("a,,c\n", 4), vec![vec!["a", "", "c"]]);
        let mut reader = RowReader::new(b'\t');
        let mut got = Vec::new();
        reader
            .feed(b"a\tb,c\n", &mut |r| -> Result<(), ()> {
                got.push(r);
                Ok(())
            })
            .unwrap();
        assert_eq!(got, vec![vec!["a", "b,c"]]);
    }

    #[test]
    fn the_row_handler_can_stop_the_reading() {
        let mut reader = RowReader::new(b',');
        let mut seen = 0;
        let stopped = reader.feed(b"1\n2\n3\n", &mut |_| {
            seen += 1;
            if seen == 2 { Err("enough") } else { Ok(()) }
        });
        assert_eq!(stopped, Err("enough"));
        assert_eq!(seen, 2);
    }
}
