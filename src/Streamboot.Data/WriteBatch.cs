using System.Collections.Concurrent;

namespace Streamboot.Data;

/// <summary>
/// Group commit for one SQLite file (<see cref="SiteDatabase.WriteAsync{T}"/>):
/// writes that arrive while another batch is being written wait, and the
/// next batch runs them one after the other in one transaction, each inside
/// a savepoint of its own, with one commit and one write turn for all. In a
/// boot storm hundreds of clients place, start and open their boots at once;
/// one at a time, each write held the turn for its own transaction, commit
/// and hand-over, and the clients' waits added up (placements waited 1.4 s
/// on average at 500 clients).
/// </summary>
internal sealed class WriteBatch
{
    /// <summary>The most writes one transaction takes; the rest go in the next.</summary>
    public const int MaxWrites = 64;

    private readonly ConcurrentQueue<IPendingWrite> _queue = new();
    private int _draining;

    public Task<T> EnqueueAsync<T>(SiteDatabase database, Func<StreambootDbContext, CancellationToken, Task<T>> write, CancellationToken cancellationToken)
    {
        var pending = new PendingWrite<T>(database, write, cancellationToken);
        _queue.Enqueue(pending);
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            // The writes run on the pool, not on this caller's stack: its
            // own write would otherwise wait for every batch after it.
            _ = Task.Run(DrainAsync, CancellationToken.None);
        }

        return pending.Task;
    }

    private async Task DrainAsync()
    {
        var batch = new List<IPendingWrite>(MaxWrites);
        while (true)
        {
            if (_queue.TryPeek(out var first))
            {
                // The turn first, then the batch: whatever arrives while this
                // waits for the turn joins the same transaction.
                using var turn = await first.Database.WriteTurnAsync();
                while (batch.Count < MaxWrites && _queue.TryDequeue(out var next))
                {
                    if (!next.CancelIfAsked())
                    {
                        batch.Add(next);
                    }
                }

                if (batch.Count > 0)
                {
                    await WriteAsync(batch);
                    batch.Clear();
                }

                continue;
            }

            Volatile.Write(ref _draining, 0);
            // A write enqueued after the last look, before the flag fell,
            // started no drainer: take it on, unless one has started.
            if (_queue.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            {
                return;
            }
        }
    }

    /// <summary>Writes the batch in one transaction; the caller holds the write turn.</summary>
    private static async Task WriteAsync(List<IPendingWrite> batch)
    {
        var database = batch[0].Database;
        try
        {
            await using var db = database.CreateContext();
            await using var transaction = await db.Database.BeginTransactionAsync();
            foreach (var write in batch)
            {
                await transaction.CreateSavepointAsync("write");
                try
                {
                    await write.RunAsync(db);
                    await transaction.ReleaseSavepointAsync("write");
                }
                catch (Exception e)
                {
                    // This write's changes go; the others' stay.
                    await transaction.RollbackToSavepointAsync("write");
                    write.Fail(e);
                }

                db.ChangeTracker.Clear();
            }

            await transaction.CommitAsync();
        }
        catch (Exception e)
        {
            // Not written (no transaction, or the commit failed): every write of the batch hears why.
            foreach (var write in batch)
            {
                write.Fail(e);
            }
        }

        foreach (var write in batch)
        {
            write.Complete();
        }
    }

    private interface IPendingWrite
    {
        SiteDatabase Database { get; }

        /// <summary>True (and the caller told) when it stopped waiting before its turn.</summary>
        bool CancelIfAsked();

        Task RunAsync(StreambootDbContext db);

        void Fail(Exception e);

        /// <summary>After the commit: the caller gets its result or its failure.</summary>
        void Complete();
    }

    private sealed class PendingWrite<T>(SiteDatabase database, Func<StreambootDbContext, CancellationToken, Task<T>> write, CancellationToken cancellationToken) : IPendingWrite
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _failure;

        public Task<T> Task => _done.Task;

        public SiteDatabase Database => database;

        public bool CancelIfAsked()
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            _done.TrySetCanceled(cancellationToken);
            return true;
        }

        public async Task RunAsync(StreambootDbContext db) => _result = await write(db, cancellationToken);

        public void Fail(Exception e) => _failure ??= e;

        public void Complete()
        {
            if (_failure is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                _done.TrySetCanceled(cancellationToken);
            }
            else if (_failure is not null)
            {
                _done.TrySetException(_failure);
            }
            else
            {
                _done.TrySetResult(_result!);
            }
        }
    }
}
