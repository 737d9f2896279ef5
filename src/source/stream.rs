//! The bounded channel between a database task and a file writer.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::{Batch, Column, SourceError};

/// Rows per batch: large enough to amortise channel hand-offs (each one
/// can wake a sleeping thread), small enough that the batches in flight
/// stay at a few megabytes.
const BATCH_ROWS: usize = 2048;
/// A batch is also sent once its text passes this many bytes (wide rows).
const BATCH_BYTES: usize = 512 * 1024;
/// Batches queued between producer and consumer.
const IN_FLIGHT: usize = 4;

enum Message {
    Columns(Vec<Column>),
    Rows(Batch),
    Failed(SourceError),
}

/// The producer's end: fill [`BatchSender::batch`], call
/// [`BatchSender::row_done`] after each row.
pub struct BatchSender {
    tx: mpsc::Sender<Message>,
    recycled: mpsc::UnboundedReceiver<Batch>,
    current: Batch,
}

impl BatchSender {
    /// Announces the result's columns; must come before any row.
    pub async fn columns(&mut self, columns: Vec<Column>) -> Result<(), SourceError> {
        self.current = Batch::new(columns.len());
        self.tx
            .send(Message::Columns(columns))
            .await
            .map_err(|_| SourceError::Closed)
    }

    /// The batch the current row is rendered into.
    pub fn batch(&mut self) -> &mut Batch {
        &mut self.current
    }

    /// Marks a row complete; sends the batch when it is full.
    pub async fn row_done(&mut self) -> Result<(), SourceError> {
        if self.full() {
            self.flush().await?;
        }
        Ok(())
    }

    fn full(&self) -> bool {
        self.current.len() >= BATCH_ROWS || self.current.text_len() >= BATCH_BYTES
    }

    /// The filled batch, replaced by a recycled (or new) empty one.
    fn take_full(&mut self) -> Batch {
        let width = self.current.width();
        let next = match self.recycled.try_recv() {
            Ok(b) => b,
            Err(_) => Batch::new(width),
        };
        std::mem::replace(&mut self.current, next)
    }

    async fn flush(&mut self) -> Result<(), SourceError> {
        let full = self.take_full();
        self.tx.send(Message::Rows(full)).await.map_err(|_| SourceError::Closed)
    }

    /// [`BatchSender::columns`] for a producer on a blocking thread (never
    /// call it from async code: it blocks the thread while the queue is full).
    pub fn blocking_columns(&mut self, columns: Vec<Column>) -> Result<(), SourceError> {
        self.current = Batch::new(columns.len());
        self.tx
            .blocking_send(Message::Columns(columns))
            .map_err(|_| SourceError::Closed)
    }

    /// [`BatchSender::row_done`] for a producer on a blocking thread.
    pub fn blocking_row_done(&mut self) -> Result<(), SourceError> {
        if self.full() {
            let full = self.take_full();
            self.tx
                .blocking_send(Message::Rows(full))
                .map_err(|_| SourceError::Closed)?;
        }
        Ok(())
    }

    /// Moves the sender out, leaving one whose reader is gone, so a blocking
    /// thread can own it; put it back with `*out = moved` when done.
    pub fn detach(&mut self) -> BatchSender {
        let (tx, _) = mpsc::channel(1);
        let (_, recycled) = mpsc::unbounded_channel();
        std::mem::replace(
            self,
            BatchSender {
                tx,
                recycled,
                current: Batch::new(0),
            },
        )
    }

    /// Resolves when the reader has gone away (the run failed, was cancelled
    /// or timed out), so a producer can stop work the channel cannot see.
    pub fn reader_gone(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let tx = self.tx.clone();
        async move { tx.closed().await }
    }

    /// Sends the last partial batch.
    pub async fn finish(mut self) -> Result<(), SourceError> {
        if !self.current.is_empty() {
            self.flush().await?;
        }
        Ok(())
    }
}

/// The consumer's end.
pub struct RowStream {
    rx: mpsc::Receiver<Message>,
    recycle: mpsc::UnboundedSender<Batch>,
    columns: Vec<Column>,
    /// The run's cancel flag: waiting for rows ends when it is set.
    cancel: Option<Arc<AtomicBool>>,
    /// The producer, awaited when the stream stops early so the statement
    /// has been stopped on the server before the run reports its end.
    producer: Option<tokio::task::JoinHandle<()>>,
}

impl RowStream {
    /// A connected pair: the producer runs `produce` on the runtime.
    pub fn spawn<F>(produce: F) -> RowStream
    where
        F: FnOnce(BatchSender) -> futures::future::BoxFuture<'static, Result<(), SourceError>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let (recycle, recycled) = mpsc::unbounded_channel();
        let sender = BatchSender {
            tx: tx.clone(),
            recycled,
            current: Batch::new(0),
        };
        let producer = tokio::spawn(async move {
            if let Err(e) = produce(sender).await {
                let _ = tx.send(Message::Failed(e)).await;
            }
        });
        RowStream {
            rx,
            recycle,
            columns: Vec::new(),
            cancel: None,
            producer: Some(producer),
        }
    }

    /// Stops waiting for rows once `flag` is set (a stop signal's grace
    /// period ended): the stream is then dropped, which stops the statement.
    pub fn cancelled_by(mut self, flag: Arc<AtomicBool>) -> RowStream {
        self.cancel = Some(flag);
        self
    }

    /// Waits for the columns (the query has started) or the first error.
    pub async fn start(&mut self, deadline: Option<Instant>) -> Result<&[Column], StreamError> {
        match self.recv(deadline).await? {
            Some(Message::Columns(c)) => {
                self.columns = c;
                Ok(&self.columns)
            }
            Some(Message::Failed(e)) => Err(StreamError::Source(e)),
            Some(Message::Rows(_)) | None => Err(StreamError::Source(SourceError::Closed)),
        }
    }

    /// The columns announced by [`RowStream::start`].
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The next batch, or `None` at the end of the result.
    pub async fn next_batch(&mut self, deadline: Option<Instant>) -> Result<Option<Batch>, StreamError> {
        match self.recv(deadline).await? {
            Some(Message::Rows(b)) => Ok(Some(b)),
            Some(Message::Failed(e)) => Err(StreamError::Source(e)),
            Some(Message::Columns(_)) => Err(StreamError::Source(SourceError::Closed)),
            None => Ok(None),
        }
    }

    /// Hands an emptied batch back to the producer for reuse.
    pub fn recycle(&self, mut batch: Batch) {
        batch.clear();
        let _ = self.recycle.send(batch);
    }

    async fn recv(&mut self, deadline: Option<Instant>) -> Result<Option<Message>, StreamError> {
        let cancel = self.cancel.clone();
        let cancelled = async move {
            match cancel {
                Some(flag) => crate::cancel::raised(&flag).await,
                None => std::future::pending().await,
            }
        };
        let passed = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        let stopped = tokio::select! {
            biased;
            m = self.rx.recv() => return Ok(m),
            () = passed => StreamError::Deadline,
            () = cancelled => StreamError::Cancelled,
        };
        // Closing tells the producer its reader is gone: it stops the
        // statement (interrupt, cancel request, KILL QUERY) and ends.
        self.rx.close();
        if let Some(p) = self.producer.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(3), p).await;
        }
        Err(stopped)
    }
}

/// Why a stream stopped early.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The database failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The run's deadline passed while waiting for rows.
    #[error("the run's time limit passed while waiting for the database")]
    Deadline,
    /// The run was cancelled while waiting for rows.
    #[error("the run was cancelled while waiting for the database")]
    Cancelled,
}
