using System.Buffers;
using System.Numerics;
using System.Threading.Channels;
using AsymCdc.Coding;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace AsymCdc.Inference;

/// <summary>
/// One ONNX Runtime session behind <see cref="IModelFunction"/>, with micro-batching: calls that arrive
/// within <see cref="InferenceOptions.BatchWindowMicroseconds"/> of the first queued one (or until
/// <see cref="InferenceOptions.MaxBatchSize"/> items) are coalesced into ONE session run over a pooled
/// buffer, and each caller gets its own rows back. <see cref="InferenceOptions.Runners"/> runner loops (two on a CPU,
/// one on a GPU by default) read the queue, each running its own batches, so a session runs at most that many batches at
/// once; they run on the thread pool, or each on a thread of its own (<see cref="InferenceOptions.DedicatedThreads"/>).
/// A classifier's parity queries may have a queue and runners of their own (<see cref="InferenceOptions.ParityRunners"/>),
/// so that they never delay its data queries.
/// A decoder (inverse, compact decoder) runs on the caller's thread instead: it is called once per late answer, which
/// is on the critical path, and a hand-off to the runner (a thread-pool wake-up, a window) cost more than the run.
/// </summary>
public sealed partial class OnnxModelFunction : IModelFunction, IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _sessionOptions;
    private readonly RunOptions _runOptions = new();
    private readonly Channel<Call> _queue;
    private readonly Channel<Call>? _parityQueue;
    private readonly RunnerThread[] _runnerThreads;
    private readonly Task[] _runners;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _maxBatchItems;
    private readonly long _windowTicks;
    private readonly long _timerThresholdTicks;
    private readonly long _timerSlackTicks;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly int[] _outputLengths;
    private readonly InferenceInstruments? _instruments;
    private readonly KeyValuePair<string, object?> _modelTag;

    // Counters: written by the runners and inline runs (and by callers for the queue gauge), read by Stats.
    private long _calls, _items, _runs, _parityCalls, _cancelled, _failed, _queueDelayTicks, _maxQueueDelayTicks, _runTicks;
    private int _largestBatch, _queueLength, _inlineRuns;
    private readonly bool _inline;
    private volatile bool _disposing;

    internal OnnxModelFunction(ModelConfig config, string modelPath, InferenceSession session, SessionOptions sessionOptions,
        InferenceOptions options, TimeProvider time, ILogger logger, InferenceInstruments? instruments = null)
    {
        _instruments = instruments;
        _modelTag = InferenceInstruments.ModelTag(config.Name);
        Config = config;
        ModelPath = modelPath;
        _session = session;
        _sessionOptions = sessionOptions;
        _time = time;
        _logger = logger;
        _maxBatchItems = Math.Min(options.MaxBatchSize, config.MaxBatchSize);
        _inline = config.Role is ModelRole.Inverse or ModelRole.CompactDecoder;
        _windowTicks = (long)(options.BatchWindow.TotalSeconds * time.TimestampFrequency);
        _timerSlackTicks = time.TimestampFrequency / 1000; // timers fire up to ~1 ms late
        _timerThresholdTicks = 2 * _timerSlackTicks;
        _inputNames = [config.Input.Name];
        _outputNames = new string[config.Outputs.Count];
        _outputLengths = new int[config.Outputs.Count];
        for (var o = 0; o < _outputNames.Length; o++)
        {
            _outputNames[o] = config.Outputs[o].Name;
            _outputLengths[o] = config.Outputs[o].ItemLength;
        }

        InputLength = config.Input.ItemLength;
        OutputLengths = _outputLengths;
        // Triton's instance_group count: that many runners take batches off one queue, so that a CPU worker's cores
        // serve one model in parallel (a session's Run is thread-safe); one keeps a session on one core.
        _queue = Channel.CreateUnbounded<Call>(new UnboundedChannelOptions { SingleReader = options.Runners == 1 });
        // A parity query's row in a data batch makes the data answers wait for it (on a CPU a batch costs in proportion
        // to its rows); on runners of their own, parity queries run beside the data batches instead. A parity model
        // answers only parity queries, so it keeps its ordinary runners.
        var parityRunners = config.Role == ModelRole.Classifier && !_inline ? options.ParityRunners : 0;
        if (parityRunners > 0)
        {
            _parityQueue = Channel.CreateUnbounded<Call>(new UnboundedChannelOptions { SingleReader = parityRunners == 1 });
        }

        // A decoder runs inline and never queues, so it needs no runner.
        var readers = _inline ? [] : Enumerable.Repeat(_queue.Reader, options.Runners).Concat(Enumerable.Repeat(_parityQueue?.Reader!, parityRunners)).ToArray();
        _runnerThreads = options.UseDedicatedThreads ? [.. readers.Select(_ => new RunnerThread())] : [];
        _runners = options.UseDedicatedThreads
            ? [.. readers.Select((reader, i) => _runnerThreads[i].Run(() => RunLoopAsync(reader)))]
            : [.. readers.Select(reader => Task.Run(() => RunLoopAsync(reader)))];
    }

    public string Name => Config.Name;

    public int InputLength { get; }

    public IReadOnlyList<int> OutputLengths { get; }

    /// <summary>The validated config.json.</summary>
    public ModelConfig Config { get; }

    /// <summary>The model.onnx this session runs.</summary>
    public string ModelPath { get; }

    /// <summary>The counters now.</summary>
    public ModelFunctionStats Stats => new(
        Name,
        Interlocked.Read(ref _calls),
        Interlocked.Read(ref _items),
        Interlocked.Read(ref _runs),
        Interlocked.Read(ref _cancelled),
        Interlocked.Read(ref _failed),
        Volatile.Read(ref _largestBatch),
        Volatile.Read(ref _queueLength),
        ToTimeSpan(Interlocked.Read(ref _queueDelayTicks)),
        ToTimeSpan(Interlocked.Read(ref _maxQueueDelayTicks)),
        ToTimeSpan(Interlocked.Read(ref _runTicks)),
        Interlocked.Read(ref _parityCalls));

    /// <inheritdoc />
    /// <remarks>The caller must not change <paramref name="inputs"/> until the returned task completes:
    /// it is copied into the batch buffer when the batch runs, not when queued.</remarks>
    public ValueTask<float[][]> RunAsync(ReadOnlyMemory<float> inputs, int count, CancellationToken cancellationToken = default) =>
        Enqueue(_queue, inputs, count, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Queued apart from data queries where this session has parity runners; otherwise as <see cref="RunAsync"/>.</remarks>
    public ValueTask<float[][]> RunParityAsync(ReadOnlyMemory<float> inputs, int count, CancellationToken cancellationToken = default)
    {
        if (_parityQueue is null)
        {
            return Enqueue(_queue, inputs, count, cancellationToken);
        }

        var run = Enqueue(_parityQueue, inputs, count, cancellationToken);
        Interlocked.Increment(ref _parityCalls);
        return run;
    }

    private ValueTask<float[][]> Enqueue(Channel<Call> queue, ReadOnlyMemory<float> inputs, int count, CancellationToken cancellationToken)
    {
        Validate(inputs.Span, count);
        cancellationToken.ThrowIfCancellationRequested();
        var call = new Call(inputs, count, _time.GetTimestamp(), cancellationToken);
        if (_inline)
        {
            RunInline(call);
            return new ValueTask<float[][]>(call.Completion.Task);
        }

        Interlocked.Increment(ref _queueLength);
        if (!queue.Writer.TryWrite(call))
        {
            Interlocked.Decrement(ref _queueLength);
            call.Dispose();
            throw new ObjectDisposedException(nameof(OnnxModelFunction), $"Model '{Name}' has been unloaded.");
        }

        return new ValueTask<float[][]>(call.Completion.Task);
    }

    /// <summary>Runs one call now, on this thread; concurrent callers run concurrently (a session's Run is thread-safe).</summary>
    private void RunInline(Call call)
    {
        Interlocked.Increment(ref _inlineRuns);
        try
        {
            if (_disposing)
            {
                call.Dispose();
                throw new ObjectDisposedException(nameof(OnnxModelFunction), $"Model '{Name}' has been unloaded.");
            }

            RunBatch([call], call.Count);
        }
        finally
        {
            Interlocked.Decrement(ref _inlineRuns);
        }
    }

    public void Dispose()
    {
        _disposing = true; // stop holding a batch window open: run what is queued and exit
        Interlocked.MemoryBarrier(); // an inline run that missed the flag has announced itself before this reads the count
        _parityQueue?.Writer.TryComplete();
        if (_queue.Writer.TryComplete())
        {
            // The runners drain what was queued before completion, then exit; inline runs finish theirs.
            Task.WaitAll(_runners);
            foreach (var thread in _runnerThreads)
            {
                thread.Dispose();
            }

            var inline = default(SpinWait);
            while (Volatile.Read(ref _inlineRuns) > 0)
            {
                inline.SpinOnce();
            }

            _session.Dispose();
            _sessionOptions.Dispose();
            _runOptions.Dispose();
        }
    }

    /// <summary>Shapes only, which the batch buffer depends on: pixel values are checked once, where a request enters
    /// the cluster (the HTTP gateway, the frontend grain).</summary>
    private void Validate(ReadOnlySpan<float> inputs, int count)
    {
        if (count < 1)
        {
            throw new InvalidModelInputException(Name, $"Model '{Name}': count is {count}; send at least one item.");
        }

        if (count > Config.MaxBatchSize)
        {
            throw new InvalidModelInputException(Name,
                $"Model '{Name}': a batch of {count} items is above its max_batch_size of {Config.MaxBatchSize}; split it into smaller calls.");
        }

        if (inputs.Length != (long)count * InputLength)
        {
            throw new InvalidModelInputException(Name,
                $"Model '{Name}' expects {InputLength} floats per item (input {Config.Input}); got {inputs.Length} floats for {count} item(s), expected {(long)count * InputLength}.");
        }
    }

    /// <summary>One runner: its awaits resume where it started, on its <see cref="RunnerThread"/> or the pool (hence no
    /// ConfigureAwait).</summary>
    private async Task RunLoopAsync(ChannelReader<Call> reader)
    {
        using var window = new WindowTimer(_time);
        var batch = new List<Call>(_maxBatchItems);
        Call? carried = null;
        while (carried is not null || await reader.WaitToReadAsync())
        {
            batch.Clear();
            var rows = 0;
            if (!TryTake(ref carried, reader, out var first))
            {
                continue;
            }

            if (Admit(first))
            {
                batch.Add(first);
                rows = first.Count;
            }

            // The window is measured from the first call's arrival: under load that call has already
            // waited for the previous run, so the batch goes at once with whatever queued meanwhile.
            var deadline = first.EnqueuedAt + _windowTicks;
            var spinner = default(SpinWait);
            while (rows < _maxBatchItems)
            {
                if (reader.TryRead(out var next))
                {
                    Interlocked.Decrement(ref _queueLength);
                    if (rows + next.Count > _maxBatchItems)
                    {
                        carried = next; // it starts the next batch; a call is never split
                        break;
                    }

                    if (Admit(next))
                    {
                        batch.Add(next);
                        rows += next.Count;
                    }

                    continue;
                }

                var remaining = deadline - _time.GetTimestamp();
                if (_windowTicks == 0 || _disposing || remaining <= 0)
                {
                    break;
                }

                if (remaining > _timerThresholdTicks)
                {
                    // A long window: sleep on the queue with a timer, ending a timer tick early...
                    await WaitForMoreAsync(reader, window, remaining - _timerSlackTicks);
                    continue;
                }

                // ...and spin out the last stretch: sub-millisecond waits are below timer resolution.
                spinner.SpinOnce(sleep1Threshold: -1);
            }

            // Calls whose callers gave up during the window are dropped here, the last moment before the run.
            for (var i = batch.Count - 1; i >= 0; i--)
            {
                if (!Admit(batch[i]))
                {
                    rows -= batch[i].Count;
                    batch.RemoveAt(i);
                }
            }

            if (batch.Count > 0)
            {
                RunBatch(batch, rows);
            }
        }
    }

    /// <summary>Waits until a call is queued or <paramref name="ticks"/> pass, whichever is first.</summary>
    private async ValueTask WaitForMoreAsync(ChannelReader<Call> reader, WindowTimer window, long ticks)
    {
        var timer = window.Arm(TimeSpan.FromSeconds((double)ticks / _time.TimestampFrequency));
        try
        {
            await reader.WaitToReadAsync(timer.Token);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested)
        {
            // The window has (nearly) closed; the caller re-checks the clock.
        }
    }

    /// <summary>One runner's batch-window timer, reused from batch to batch while it has not fired.</summary>
    private sealed class WindowTimer(TimeProvider time) : IDisposable
    {
        private CancellationTokenSource _source = new(Timeout.InfiniteTimeSpan, time);

        public CancellationTokenSource Arm(TimeSpan after)
        {
            if (!_source.TryReset())
            {
                _source.Dispose();
                _source = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
            }

            _source.CancelAfter(after);
            return _source;
        }

        public void Dispose() => _source.Dispose();
    }

    private bool TryTake(ref Call? carried, ChannelReader<Call> reader, out Call call)
    {
        if (carried is not null)
        {
            call = carried;
            carried = null;
            return true;
        }

        if (reader.TryRead(out call!))
        {
            Interlocked.Decrement(ref _queueLength);
            return true;
        }

        return false;
    }

    /// <summary>Drops a call cancelled while it queued: cancellation is honoured up to the run.</summary>
    private bool Admit(Call call)
    {
        if (call.CancellationToken.IsCancellationRequested || call.Completion.Task.IsCompleted)
        {
            call.Completion.TrySetCanceled(call.CancellationToken);
            call.Dispose();
            Interlocked.Increment(ref _cancelled);
            return false;
        }

        return true;
    }

    private void RunBatch(List<Call> batch, int rows)
    {
        var started = _time.GetTimestamp();
        var input = ArrayPool<float>.Shared.Rent(rows * InputLength);
        var outputs = new float[_outputLengths.Length][];
        var inputValues = new OrtValue[1];
        var outputValues = new OrtValue[_outputLengths.Length];
        try
        {
            var offset = 0;
            foreach (var call in batch)
            {
                call.Inputs.Span.CopyTo(input.AsSpan(offset));
                offset += call.Inputs.Length;
            }

            inputValues[0] = OrtValue.CreateTensorValueFromMemory(
                OrtMemoryInfo.DefaultInstance, input.AsMemory(0, rows * InputLength), Config.Input.ShapeFor(rows));
            for (var o = 0; o < outputs.Length; o++)
            {
                outputs[o] = ArrayPool<float>.Shared.Rent(rows * _outputLengths[o]);
                outputValues[o] = OrtValue.CreateTensorValueFromMemory(
                    OrtMemoryInfo.DefaultInstance, outputs[o].AsMemory(0, rows * _outputLengths[o]), Config.Outputs[o].ShapeFor(rows));
            }

            _session.Run(_runOptions, _inputNames, inputValues, _outputNames, outputValues);
            Record(batch, rows, started);
            Split(batch, outputs);
        }
        catch (Exception e)
        {
            LogBatchFailed(_logger, e, Name, batch.Count, rows);
            Interlocked.Add(ref _failed, batch.Count);
            var error = new InvalidOperationException($"Model '{Name}' failed to run a batch of {rows} item(s): {e.Message}", e);
            foreach (var call in batch)
            {
                call.Completion.TrySetException(error);
                call.Dispose();
            }
        }
        finally
        {
            inputValues[0]?.Dispose();
            ArrayPool<float>.Shared.Return(input);
            for (var o = 0; o < outputs.Length; o++)
            {
                outputValues[o]?.Dispose();
                if (outputs[o] is { } buffer)
                {
                    ArrayPool<float>.Shared.Return(buffer);
                }
            }
        }
    }

    /// <summary>Hands each caller its own rows of every output.</summary>
    private void Split(List<Call> batch, float[][] outputs)
    {
        var row = 0;
        foreach (var call in batch)
        {
            var result = new float[outputs.Length][];
            for (var o = 0; o < outputs.Length; o++)
            {
                var length = _outputLengths[o];
                result[o] = outputs[o].AsSpan(row * length, call.Count * length).ToArray();
            }

            row += call.Count;
            call.Completion.TrySetResult(result);
            call.Dispose();
        }
    }

    private void Record(List<Call> batch, int rows, long started)
    {
        var now = _time.GetTimestamp();
        Interlocked.Add(ref _runTicks, now - started);
        Interlocked.Increment(ref _runs);
        Interlocked.Add(ref _items, rows);
        Interlocked.Add(ref _calls, batch.Count);
        int largest;
        while (rows > (largest = Volatile.Read(ref _largestBatch)) && Interlocked.CompareExchange(ref _largestBatch, rows, largest) != largest)
        {
            // another inline run raised it meanwhile: compare again
        }

        foreach (var call in batch)
        {
            var delay = started - call.EnqueuedAt;
            _instruments?.QueueDelay(_modelTag, (double)delay / _time.TimestampFrequency);
            Interlocked.Add(ref _queueDelayTicks, delay);
            long longest;
            while (delay > (longest = Interlocked.Read(ref _maxQueueDelayTicks))
                && Interlocked.CompareExchange(ref _maxQueueDelayTicks, delay, longest) != longest)
            {
                // an inline run raised it meanwhile: compare again
            }
        }
    }

    private TimeSpan ToTimeSpan(long ticks) => TimeSpan.FromSeconds((double)ticks / _time.TimestampFrequency);

    /// <summary>A queued call: its input, where its result goes, and when it arrived.</summary>
    private sealed class Call : IDisposable
    {
        private readonly CancellationTokenRegistration _registration;

        public Call(ReadOnlyMemory<float> inputs, int count, long enqueuedAt, CancellationToken cancellationToken)
        {
            Inputs = inputs;
            Count = count;
            EnqueuedAt = enqueuedAt;
            CancellationToken = cancellationToken;
            if (cancellationToken.CanBeCanceled)
            {
                // A caller who gives up while queued is answered at once; the runner then skips the call.
                _registration = cancellationToken.UnsafeRegister(
                    static state => ((Call)state!).Completion.TrySetCanceled(((Call)state!).CancellationToken), this);
            }
        }

        public ReadOnlyMemory<float> Inputs { get; }

        public int Count { get; }

        public long EnqueuedAt { get; }

        public CancellationToken CancellationToken { get; }

        public TaskCompletionSource<float[][]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Dispose() => _registration.Dispose();
    }
}
