using AsymCdc.Serving;

namespace AsymCdc.Simulation;

/// <summary>What a simulated worker answers: the policies only need to know that it did.</summary>
public sealed class SimulatedAnswer
{
    public static readonly SimulatedAnswer Instance = new();

    private SimulatedAnswer()
    {
    }
}

/// <summary>
/// The simulated workers behind the serving policies: each worker serves its queue one batch at a time (one call per
/// batch for the empirical model, whatever has queued up to the maximum batch for the GPU model), optionally waiting
/// for one of a few cores shared by all; faults slow, delay or kill workers. It is the policies' host, as the
/// parity-group grain is in a silo. Single-threaded, on <see cref="VirtualTime"/>.
/// </summary>
internal sealed class SimulatedCluster : IServingHost<int, SimulatedAnswer>, IServingObserver<int>
{
    private readonly SlowWorkerDetector<int>? _slow;
    private readonly VirtualTime _time;
    private readonly SimulationConfig _config;
    private readonly ServiceTimes _service;
    private readonly Random _serviceDraws;
    private readonly Random _stragglerDraws;
    private readonly List<Worker> _workers = [];
    private readonly WorkerPicker<int> _picker = new();
    private readonly Queue<Action> _waitingForCore = new();
    private readonly Dictionary<string, double> _decodeMs;
    private readonly long _stragglerDelay;
    private readonly long? _slowDelay;
    private readonly long _detection;
    private int[] _view;
    private int _freeCores;

    public SimulatedCluster(VirtualTime time, SimulationConfig config, ServiceTimes service, int seed)
    {
        (_time, _config, _service) = (time, config, service);
        _serviceDraws = new Random(seed * 31 + 1);
        _stragglerDraws = new Random(seed * 31 + 2);
        for (var i = 0; i < config.Workers; i++)
        {
            _workers.Add(new Worker(i, this));
        }

        _view = [.. Enumerable.Range(0, config.Workers)];
        _freeCores = config.Service.SharedCores;
        _decodeMs = new Dictionary<string, double>(config.Service.DecodeMs);
        _stragglerDelay = TimeSpan.FromMilliseconds(config.Faults.StragglerDelayMs ?? config.Faults.StragglerDelayMedians * service.MedianMs).Ticks;
        _slowDelay = config.Faults.SlowDelayMedians is { } medians ? TimeSpan.FromMilliseconds(medians * service.MedianMs).Ticks : null;
        _detection = TimeSpan.FromMilliseconds(config.Faults.DetectionMs).Ticks;
        if (config.Policy.SlowWorkerFactor > 0)
        {
            _slow = new SlowWorkerDetector<int>(time, config.Policy.SlowWorkerFactor);
        }
    }

    public TimeProvider Time => _time;

    /// <summary>The mode whose policies this cluster serves now (for its decode time).</summary>
    public string Mode { get; set; } = "none";

    /// <summary><c>auto</c>'s coded mode, whose decode time its reconstructions take.</summary>
    public string AutoCoder { get; init; } = AsymCdc.Serving.AutoCoding.Compact;

    public long WorkerCalls { get; private set; }

    /// <summary>Time workers spent serving batches, in ticks (a batch counts once, whatever its size).</summary>
    public long BusyTicks { get; private set; }

    public int[] Pick(int count) => _picker.Pick(_view, count, isSuspected: null, goesLast: null, _slow);

    public void CallCompleted(int worker, TimeSpan elapsed, bool succeeded)
    {
        if (succeeded)
        {
            _slow?.Record(worker, elapsed);
        }
    }

    public void WorkerCallSent(CallRole role)
    {
    }

    public void StragglerDetected()
    {
    }

    public IDisposable? Encoding(long groupId, int members) => null;

    public void GroupFormed(bool partial, bool parity)
    {
    }

    public void MemberMissed(long groupId, int index, int worker, bool failed)
    {
    }

    public void MemberLost(long groupId, int index, string? reason)
    {
    }

    public void DecodeFailed(long groupId, int index, Exception error)
    {
    }

    public void Decoded(TimeSpan elapsed) => DecodeMs.Add((float)elapsed.TotalMilliseconds);

    /// <summary>Each reconstruction's time from its decode's start to its answer (ms), as the bench reports it.</summary>
    public List<float> DecodeMs { get; } = [];

    public void AutoChose(string mode, string why)
    {
    }

    public void Send(WorkerDispatch<int, SimulatedAnswer> call)
    {
        WorkerCalls++;
        var worker = _workers[call.Worker];
        if (!worker.Alive)
        {
            FailAtDetection(worker, call);
            return;
        }

        worker.Queue.Enqueue(call);
        TryStart(worker);
    }

    public void Decode(DecodeJob<int, SimulatedAnswer> job)
    {
        OnCores(_decodeMs.GetValueOrDefault(Mode == "auto" ? AutoCoder : Mode, 0), () => job.Complete(SimulatedAnswer.Instance));
    }

    /// <summary>Worker <paramref name="id"/> dies now: its calls fail when the death is detected, when it also leaves
    /// the view; a replacement joins <paramref name="replaceAfter"/> after the death.</summary>
    public void Kill(int id, TimeSpan replaceAfter)
    {
        var worker = _workers[id];
        worker.Alive = false;
        worker.DiedAt = _time.Now;
        while (worker.Queue.TryDequeue(out var call))
        {
            FailAtDetection(worker, call);
        }

        _time.At(worker.DiedAt + _detection, _ => _view = Array.FindAll(_view, w => w != id), null);
        _time.At(worker.DiedAt + replaceAfter.Ticks, _ =>
        {
            var replacement = new Worker(_workers.Count, this);
            _workers.Add(replacement);
            _view = [.. _view, replacement.Id];
        }, null);
    }

    private void FailAtDetection(Worker worker, WorkerDispatch<int, SimulatedAnswer> call) =>
        _time.At(worker.DiedAt + _detection, static c => ((WorkerDispatch<int, SimulatedAnswer>)c!).Fail(WorkerDied), call);

    private static readonly Exception WorkerDied = new InvalidOperationException("the worker died");

    private void TryStart(Worker worker)
    {
        if (worker.Busy || worker.Queue.Count == 0 || !worker.Alive)
        {
            return;
        }

        if (_config.Service.SharedCores > 0)
        {
            if (!worker.WaitingForCore)
            {
                worker.WaitingForCore = true;
                WithCore(() =>
                {
                    worker.WaitingForCore = false;
                    if (worker.Busy || worker.Queue.Count == 0 || !worker.Alive)
                    {
                        ReleaseCore();
                        return;
                    }

                    StartBatch(worker);
                });
            }

            return;
        }

        StartBatch(worker);
    }

    /// <summary>Runs <paramref name="granted"/> once one of the shared cores is free (FIFO); it must release it.</summary>
    private void WithCore(Action granted)
    {
        if (_freeCores > 0)
        {
            _freeCores--;
            granted();
        }
        else
        {
            _waitingForCore.Enqueue(granted);
        }
    }

    private void ReleaseCore()
    {
        if (_waitingForCore.TryDequeue(out var next))
        {
            next();
        }
        else
        {
            _freeCores++;
        }
    }

    /// <summary>Work on the shared cores outside the workers (the caller's side of a query, a decode): holds a core for
    /// <paramref name="ms"/>, then runs <paramref name="done"/>; without shared cores it only takes the time.</summary>
    public void OnCores(double ms, Action done)
    {
        var ticks = (long)(ms * TimeSpan.TicksPerMillisecond);
        if (_config.Service.SharedCores == 0)
        {
            _time.At(_time.Now + ticks, static d => ((Action)d!)(), done);
            return;
        }

        WithCore(() => _time.At(_time.Now + ticks, _ =>
        {
            ReleaseCore();
            done();
        }, null));
    }

    private void StartBatch(Worker worker)
    {
        var size = Math.Min(worker.Queue.Count, _service.MaxBatch);
        var batch = new WorkerDispatch<int, SimulatedAnswer>[size];
        for (var i = 0; i < size; i++)
        {
            batch[i] = worker.Queue.Dequeue();
        }

        worker.Busy = true;
        var ticks = (long)(TimeSpan.TicksPerMillisecond * _service.Draw(size, _serviceDraws) * SlowFactor(worker.Id));
        BusyTicks += ticks;
        worker.Batch = batch;
        if (_config.Service is { SharedCores: > 0, CoreMs: { } coreMs })
        {
            // The core is held for the call's core time only; the rest of its time is waiting that holds none.
            var core = Math.Min(ticks, (long)(coreMs * TimeSpan.TicksPerMillisecond));
            worker.Rest = ticks - core;
            _time.At(_time.Now + core, static w => ((Worker)w!).Owner.CoreDone((Worker)w!), worker);
            return;
        }

        _time.At(_time.Now + ticks, static w => ((Worker)w!).Owner.Finish((Worker)w!), worker);
    }

    /// <summary>A call's core time is over: the core and the worker take the next call while this batch's answers
    /// arrive after the rest of their time (a silo serves calls concurrently; only the core time is exclusive).</summary>
    private void CoreDone(Worker worker)
    {
        var batch = worker.Batch!;
        worker.Batch = null;
        worker.Busy = false;
        ReleaseCore();
        _time.At(_time.Now + worker.Rest, b => Answer(worker, (WorkerDispatch<int, SimulatedAnswer>[])b!), batch);
        TryStart(worker);
    }

    private void Finish(Worker worker)
    {
        worker.Busy = false;
        var batch = worker.Batch!;
        worker.Batch = null;
        if (_config.Service.SharedCores > 0)
        {
            ReleaseCore();
        }

        Answer(worker, batch);
        TryStart(worker);
    }

    private void Answer(Worker worker, WorkerDispatch<int, SimulatedAnswer>[] batch)
    {
        var slowDelay = _slowDelay is { } ticks && worker.Id < _config.Faults.SlowNodes
            && InWindow(_config.Faults.SlowSeconds, _config.Faults.SlowPeriodSeconds) ? ticks : 0;
        foreach (var call in batch)
        {
            if (!worker.Alive)
            {
                FailAtDetection(worker, call);
                continue;
            }

            var late = slowDelay + (_config.Faults.StragglerRate > 0 && _stragglerDraws.NextDouble() < _config.Faults.StragglerRate ? _stragglerDelay : 0);
            if (late > 0)
            {
                _time.At(_time.Now + late, static c => ((WorkerDispatch<int, SimulatedAnswer>)c!).Complete(SimulatedAnswer.Instance), call);
            }
            else
            {
                call.Complete(SimulatedAnswer.Instance);
            }
        }
    }

    /// <summary>How much slower worker <paramref name="id"/> runs now: slow nodes and background load, in their windows.</summary>
    private double SlowFactor(int id)
    {
        var f = _config.Faults;
        var factor = 1.0;
        if (id < f.SlowNodes && f.SlowDelayMedians is null && InWindow(f.SlowSeconds, f.SlowPeriodSeconds))
        {
            factor *= f.SlowFactor;
        }

        if (f.BackgroundFraction > 0 && id >= _config.Workers - (int)Math.Ceiling(f.BackgroundFraction * _config.Workers)
            && InWindow(f.BackgroundSeconds, f.BackgroundPeriodSeconds))
        {
            factor *= f.BackgroundFactor;
        }

        return factor;
    }

    /// <summary>Within <paramref name="seconds"/> of every <paramref name="period"/>, starting half a period in (a period of 0: always).</summary>
    private bool InWindow(double seconds, double period)
    {
        if (period <= 0)
        {
            return true;
        }

        var t = TimeSpan.FromTicks(_time.Now).TotalSeconds + (period / 2);
        return t % period < seconds;
    }

    private sealed class Worker(int id, SimulatedCluster owner)
    {
        public int Id { get; } = id;

        public bool Alive { get; set; } = true;

        public long DiedAt { get; set; }

        public bool Busy { get; set; }

        public bool WaitingForCore { get; set; }

        public long Rest { get; set; }

        public Queue<WorkerDispatch<int, SimulatedAnswer>> Queue { get; } = new();

        public WorkerDispatch<int, SimulatedAnswer>[]? Batch { get; set; }

        public SimulatedCluster Owner { get; } = owner;
    }
}

/// <summary>The service-time model of <see cref="ServiceModel"/>: draws, median, per-worker capacity.</summary>
public sealed class ServiceTimes
{
    private readonly double[] _samples;
    private readonly (int Size, double Ms)[] _batches;
    private readonly double _sigma;

    public ServiceTimes(ServiceModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        IsGpu = model.Kind == "gpu";
        _samples = [.. model.SamplesMs];
        Array.Sort(_samples);
        _batches = [.. model.BatchMs.Select(b => (int.Parse(b.Key, System.Globalization.CultureInfo.InvariantCulture), b.Value)).OrderBy(b => b.Item1)];
        _sigma = model.JitterSigma;
        MaxBatch = IsGpu ? model.MaxBatch : 1;
        MedianMs = IsGpu ? BatchMs(1) : _samples[_samples.Length / 2];
        MeanMs = IsGpu ? BatchMs(1) : _samples.Average();
    }

    public bool IsGpu { get; }

    public int MaxBatch { get; }

    /// <summary>The median time of one query alone.</summary>
    public double MedianMs { get; }

    public double MeanMs { get; }

    /// <summary>Queries per second one worker serves one at a time: the capacity of an unbatched deployment. On a GPU
    /// the batcher has headroom beyond it (bursts, parities), which is what the GPU model shows.</summary>
    public double WorkerCapacity => 1000 / MeanMs;

    /// <summary>The time of a batch of <paramref name="size"/>.</summary>
    public double Draw(int size, Random random)
    {
        if (!IsGpu)
        {
            return _samples[random.Next(_samples.Length)];
        }

        // Log-normal jitter around the table's median (Box-Muller).
        var normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return BatchMs(size) * Math.Exp(_sigma * normal);
    }

    /// <summary>The table's time for <paramref name="size"/>, linear between its entries, flat beyond them.</summary>
    public double BatchMs(int size)
    {
        if (size <= _batches[0].Size)
        {
            return _batches[0].Ms;
        }

        for (var i = 1; i < _batches.Length; i++)
        {
            if (size <= _batches[i].Size)
            {
                var (s0, m0) = _batches[i - 1];
                var (s1, m1) = _batches[i];
                return m0 + ((m1 - m0) * (size - s0) / (s1 - s0));
            }
        }

        var (last, ms) = _batches[^1];
        return ms * size / last;
    }
}
