//! The two bodies the endpoint answers with: the acknowledgement Salesforce requires after a
//! message is stored, and a SOAP 1.1 fault for everything else.

use quick_xml::escape::escape;

/// The acknowledgement, byte for byte. Salesforce counts a message as delivered only on this
/// `notificationsResponse` with `Ack` true; an empty or non-SOAP 200 is retried.
pub const ACK_ENVELOPE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
      <Ack>true</Ack>
    </notificationsResponse>
  </soapenv:Body>
</soapenv:Envelope>
"#;

/// Content type of both bodies.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// Who is at fault, as SOAP 1.1 names it: the sender (`Client`) must change its request; a
/// `Server` fault may succeed when retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    Client,
    Server,
}

/// A SOAP 1.1 fault whose `faultstring` is `message`, escaped.
pub fn fault(code: FaultCode, message: &str) -> String {
    let code = match code {
        FaultCode::Client => "soapenv:Client",
        FaultCode::Server => "soapenv:Server",
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\n\
         \x20 <soapenv:Body>\n\
         \x20   <soapenv:Fault>\n\
         \x20     <faultcode>{code}</faultcode>\n\
         \x20     <faultstring>{}</faultstring>\n\
         \x20   </soapenv:Fault>\n\
         \x20 </soapenv:Body>\n\
         </soapenv:Envelope>\n",
        escape(message)
    )
}
