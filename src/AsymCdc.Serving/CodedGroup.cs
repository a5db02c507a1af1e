namespace AsymCdc.Serving;

/// <summary>
/// One parity group while it is open and in flight: up to k data members, each dispatched at once to its own worker,
/// and the parity, dispatched when the group is sealed (full, its window ended, or a member missed). Touched only from
/// its policy's thread.
/// </summary>
public sealed class CodedGroup<TWorker, TAnswer>
    where TAnswer : class
{
    internal CodedGroup(long id, int k, TWorker[] workers, int inputLength)
    {
        Id = id;
        Workers = workers;
        Inputs = new float[k * inputLength];
        Data = new WorkerDispatch<TWorker, TAnswer>[k];
        Members = new CodedMember<TWorker, TAnswer>[k];
        InputLength = inputLength;
    }

    public long Id { get; }

    /// <summary>k+1 workers: member i runs on Workers[i], the parity on Workers[k].</summary>
    public TWorker[] Workers { get; }

    public TWorker ParityWorker => Workers[^1];

    /// <summary>Members' inputs back to back, the encoder's input.</summary>
    public float[] Inputs { get; }

    public int InputLength { get; }

    public WorkerDispatch<TWorker, TAnswer>[] Data { get; }

    internal CodedMember<TWorker, TAnswer>[] Members { get; }

    /// <summary>Members present (k' ≤ k).</summary>
    public int Count { get; internal set; }

    public bool IsFull => Count == Data.Length;

    public bool IsSealed => Parity is not null || Uncoded;

    /// <summary>Sealed without a parity (<c>auto</c>'s budget could not pay for one): a late member is hedged, not rebuilt.</summary>
    public bool Uncoded { get; internal set; }

    public WorkerDispatch<TWorker, TAnswer>? Parity { get; internal set; }

    /// <summary>Whether every answer but member <paramref name="missing"/>'s is in: the k'−1 other members' and the parity's.</summary>
    public bool OthersSucceeded(int missing)
    {
        if (Parity is not { IsSucceeded: true })
        {
            return false;
        }

        for (var j = 0; j < Count; j++)
        {
            if (j != missing && !Data[j].IsSucceeded)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The first failure among the answers other than member <paramref name="missing"/>'s: then it cannot be decoded.</summary>
    public Exception? OthersFailure(int missing)
    {
        if (Parity is { IsFailed: true })
        {
            return Parity.Error;
        }

        for (var j = 0; j < Count; j++)
        {
            if (j != missing && Data[j].IsFailed)
            {
                return Data[j].Error;
            }
        }

        return null;
    }
}

/// <summary>A member of a group while its caller waits: its own call, its straggler-deadline timer, its decode.</summary>
internal sealed class CodedMember<TWorker, TAnswer>(ServedQuery<TAnswer> query, int index)
    where TAnswer : class
{
    public ServedQuery<TAnswer> Query { get; } = query;

    public int Index { get; } = index;

    public WorkerDispatch<TWorker, TAnswer> Own { get; set; } = null!;

    public ITimer? Deadline { get; set; }

    public bool Missed { get; set; }

    public DecodeJob<TWorker, TAnswer>? Decode { get; set; }

    /// <summary>Its hedge, in a group sealed without a parity.</summary>
    public WorkerDispatch<TWorker, TAnswer>? Backup { get; set; }
}

/// <summary>
/// The group batcher: assigns arriving queries to groups of k in arrival order. A group is sealed when full, or when
/// its window (from its first member) ends with k' &lt; k members; its workers are picked when it opens.
/// </summary>
public sealed class GroupBatcher<TWorker, TAnswer>
    where TAnswer : class
{
    private readonly IServingHost<TWorker, TAnswer> _host;
    private readonly int _k;
    private readonly int _inputLength;
    private long _nextGroupId;
    private long _lastArrival;

    public GroupBatcher(IServingHost<TWorker, TAnswer> host, int k, int inputLength, TimeSpan window, long firstGroupId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputLength, 1);
        (_host, _k, _inputLength, Window, _nextGroupId) = (host, k, inputLength, window, firstGroupId);
    }

    /// <summary>How long a partial group waits for more members before its parity goes out.</summary>
    public TimeSpan Window { get; }

    /// <summary>When set, the window follows the arrival rate (<see cref="WindowNow"/>).</summary>
    public bool WindowFromArrivals { get; init; }

    /// <summary>The mean gap between arrivals (an exponentially weighted average, in ticks of the host's clock).</summary>
    public double MeanGap { get; private set; }

    /// <summary>
    /// The window of a group opening now. Fixed: <see cref="Window"/>. From arrivals: twice the time the k−1 other
    /// members are expected to take, at most <see cref="Window"/>; zero (seal at once, k' = 1) when even the window
    /// would not bring them, so that a lone query at low load is not left without its parity while it waits for company.
    /// </summary>
    public TimeSpan WindowNow
    {
        get
        {
            if (!WindowFromArrivals || MeanGap <= 0)
            {
                return Window;
            }

            var expected = TimeSpan.FromSeconds((_k - 1) * MeanGap / _host.Time.TimestampFrequency);
            return expected > Window ? TimeSpan.Zero : expected * 2 < Window ? expected * 2 : Window;
        }
    }

    /// <summary>The group taking members now, if any.</summary>
    public CodedGroup<TWorker, TAnswer>? Open { get; private set; }

    /// <summary>Adds <paramref name="input"/> to the open group (opening one if none); returns the group and the member's index.</summary>
    public (CodedGroup<TWorker, TAnswer> Group, int Index) Join(float[] input, long arrived = 0)
    {
        if (_lastArrival != 0 && arrived > _lastArrival)
        {
            var gap = arrived - _lastArrival;
            MeanGap = MeanGap == 0 ? gap : (0.9 * MeanGap) + (0.1 * gap);
        }

        _lastArrival = arrived;
        if (input.Length != _inputLength)
        {
            throw new ArgumentException($"a query of this group has {input.Length} values; the group's inputs have {_inputLength}", nameof(input));
        }

        var group = Open ??= new CodedGroup<TWorker, TAnswer>(_nextGroupId++, _k, _host.Pick(_k + 1), _inputLength);
        var index = group.Count++;
        input.CopyTo(group.Inputs.AsSpan(index * _inputLength, _inputLength));
        return (group, index);
    }

    /// <summary>The group takes no more members.</summary>
    public void Close(CodedGroup<TWorker, TAnswer> group)
    {
        if (ReferenceEquals(Open, group))
        {
            Open = null;
        }
    }
}
