//! `service!`: from a list of methods, a handler trait, a server and a client.
//!
//! ```ignore
//! service! {
//!     service BackendService, handler BackendServiceHandler, server BackendServiceServer, client BackendServiceClient {
//!         fn submit_tasks = "submit_tasks" (1: tasks: Vec<TAgentTaskRequest>) -> TAgentResult;
//!     }
//! }
//! ```
//! Handlers return `Result<T, ApplicationError>`: an `Err` goes back to the caller as a
//! TApplicationException; a panic becomes INTERNAL_ERROR and the server lives on. Every
//! method has a default body answering UNKNOWN_METHOD, so a handler (a test fake, a
//! partial peer) implements only the methods it serves.

#[macro_export]
macro_rules! service {
    (
        $(#[$meta:meta])*
        service $svc:ident, handler $handler:ident, server $server:ident, client $client:ident {
            $( fn $method:ident = $wire:literal ( $( $id:literal : $arg:ident : $aty:ty ),* ) -> $ret:ty ; )*
        }
    ) => {
        $(#[$meta])*
        #[async_trait::async_trait]
        pub trait $handler: Send + Sync + 'static {
            $(
            #[doc = concat!("`", $wire, "`; unless implemented, answers UNKNOWN_METHOD.")]
            #[allow(unused_variables)]
            async fn $method(&self, $( $arg: $aty ),* ) -> Result<$ret, thrift::ApplicationError> {
                // What a peer gets for a method the server does not have.
                Err(thrift::ApplicationError::new(
                    thrift::ApplicationErrorKind::UnknownMethod,
                    concat!(stringify!($svc), ".", $wire, " is not implemented"),
                ))
            }
            )*
        }

        #[doc = concat!("Serves `", stringify!($svc), "` with a handler.")]
        pub struct $server<H: ?Sized>(pub std::sync::Arc<H>);

        impl<H: $handler + ?Sized> $crate::transport::Service for $server<H> {
            fn name(&self) -> &'static str {
                stringify!($svc)
            }

            #[allow(unused_mut, unused_variables)]
            fn decode(
                &self,
                method: &str,
                mut i: $crate::transport::SliceInput<'_>,
            ) -> Result<$crate::transport::CallFuture, $crate::transport::CallError> {
                use thrift::protocol::{TInputProtocol, TType};
                use $crate::transport::{CallError, Reply, Wire};
                match method {
                    $( $wire => {
                        $( let mut $arg: Option<$aty> = None; )*
                        let decoded: thrift::Result<()> = (|| {
                            i.read_struct_begin()?;
                            loop {
                                let f = i.read_field_begin()?;
                                if f.field_type == TType::Stop {
                                    break;
                                }
                                match f.id {
                                    $( Some($id) if f.field_type == <$aty as Wire>::TTYPE => {
                                        $arg = Some(<$aty as Wire>::read(&mut i)?);
                                    } )*
                                    _ => i.skip(f.field_type)?,
                                }
                                i.read_field_end()?;
                            }
                            i.read_struct_end()
                        })();
                        decoded.map_err(|e| CallError::BadArgs($crate::transport::error::describe(&e)))?;
                        $( let $arg = $arg.ok_or_else(|| {
                            CallError::BadArgs(format!("argument {} ({}) is missing", $id, stringify!($arg)))
                        })?; )*
                        let handler = self.0.clone();
                        Ok(Box::pin(async move {
                            let r = handler.$method($( $arg ),*).await.map_err(CallError::Handler)?;
                            Ok(Reply::result(r))
                        }))
                    } )*
                    other => Err(CallError::UnknownMethod(other.to_string())),
                }
            }
        }

        #[doc = concat!("Calls `", stringify!($svc), "` on one address.")]
        #[derive(Clone)]
        pub struct $client {
            channel: $crate::transport::Channel,
        }

        impl $client {
            pub fn new(channel: $crate::transport::Channel) -> Self {
                $client { channel }
            }

            pub fn channel(&self) -> &$crate::transport::Channel {
                &self.channel
            }

            $(
            #[allow(unused_variables, unused_imports)]
            pub async fn $method(&self, $( $arg: &$aty ),*) -> Result<$ret, $crate::transport::RpcError> {
                use thrift::protocol::{TFieldIdentifier, TStructIdentifier};
                use $crate::transport::Wire;
                self.channel
                    .call($wire, |o| {
                        o.write_struct_begin(&TStructIdentifier::new("args"))?;
                        $(
                            o.write_field_begin(&TFieldIdentifier::new(stringify!($arg), <$aty as Wire>::TTYPE, $id))?;
                            Wire::write($arg, o)?;
                            o.write_field_end()?;
                        )*
                        o.write_field_stop()?;
                        o.write_struct_end()
                    })
                    .await
            }
            )*
        }
    };
}
