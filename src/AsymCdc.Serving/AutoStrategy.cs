namespace AsymCdc.Serving;

/// <summary>
/// <c>auto</c>: serves each query by hedging or by coding, whichever the live statistics say gives the lower tail
/// within the redundancy budget, and says why. It codes with the mode of <see cref="StrategySettings.AutoCoder"/>
/// (chosen from the model's decoders by <see cref="AutoCoding"/>: ParM where its reconstructions are faithful enough,
/// else asymcdc-compact). Both estimates come from the same recent answer times,
/// so neither strategy has to be tried to be judged:
/// - hedging rescues a late query at its hedge delay plus a re-execution: ≈ p95 + p50 of answer times;
/// - coding rescues it at the reconstruction trigger plus a decode: ≈ p90 + the recent decode time (no re-execution;
///   the parity ran alongside).
/// Coding costs 1/k extra calls per query, hedging about 1 − its percentile; a budget below 1/k rules coding out (the
/// grain first looks for a larger k that fits, AutoCoding.ChooseGroup, and builds auto with it). Both halves pay their
/// extra calls from one <see cref="RedundancyLedger"/>: a group sealed before it fills, whose parity would cost more than
/// 1/k per query, gets one only from what other queries left unspent, and its late members are hedged otherwise.
/// The choice is made at the first query, revisited every <see cref="ReviewEvery"/> queries and reported to the observer
/// then and whenever it changes. Where coding is over the budget or the model has no decoder auto may use, it only hedges.
/// </summary>
public sealed class AutoStrategy<TWorker, TAnswer> : ServingStrategy<TWorker, TAnswer>
    where TAnswer : class
{
    public const int ReviewEvery = 256;

    private readonly HedgedStrategy<TWorker, TAnswer> _hedged;
    private readonly CodedStrategy<TWorker, TAnswer> _coded;
    private readonly AutoObserver _observer;
    private readonly LatencyWindow _p50 = new(0.5);
    private readonly LatencyWindow _p90 = new(0.9);
    private readonly LatencyWindow _p95;
    private readonly double _budget;
    private readonly int _k;
    private readonly string? _codingUnavailable;
    private readonly string _coder;
    private readonly Action<ServedQuery<TAnswer>> _record;
    private long _served;

    public AutoStrategy(IServingHost<TWorker, TAnswer> host, IServingObserver<TWorker> observer, ReconstructionTrigger trigger,
        StrategySettings settings, ReconstructionTrigger codedTrigger)
        : base("auto", host, observer, trigger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _k = settings.K;
        _budget = settings.RedundancyBudget ?? 1.0 / settings.K;
        _p95 = new LatencyWindow(settings.HedgePercentile);
        // A balance of k calls: a few groups' parities, so that partial groups are coded as savings allow, not in bursts.
        Ledger = new RedundancyLedger(_budget, Math.Max(2, settings.K));
        _observer = new AutoObserver(observer, Ledger);
        _hedged = new HedgedStrategy<TWorker, TAnswer>(host, _observer, trigger, settings.HedgePercentile, settings.HedgeFallback);
        _coder = settings.AutoCoder;
        _coded = new CodedStrategy<TWorker, TAnswer>(_coder, host, _observer, codedTrigger, AutoCoding.EncoderOf(_coder),
            settings.K, settings.InputLength, settings.GroupWindow, settings.FirstGroupId, settings.WindowFromArrivals)
        {
            Ledger = Ledger,
        };
        _record = Record;
        _codingUnavailable = settings.CodingUnavailable;
        // Never above the budget, nor coding without a decoder, from the first query on.
        (Choice, Why) = HedgeOnly() is { } why ? ("hedged", why) : (_coder, "no answers yet: coding until the statistics say otherwise");
    }

    /// <summary>Why auto may only hedge, or null when coding is an option.</summary>
    private string? HedgeOnly() => _codingUnavailable is { } why
        ? why
        : 1.0 / _k > _budget
            ? $"coding's 1/k = {1.0 / _k:0.##} extra calls per query is over the redundancy budget {_budget:0.##}"
            : null;

    /// <summary>The mode serving new queries now: <c>hedged</c> or its coder (<c>parm</c> or <c>asymcdc-compact</c>).</summary>
    public string Choice { get; private set; }

    /// <summary>The estimates behind <see cref="Choice"/>, in words.</summary>
    public string Why { get; private set; }

    /// <summary>Estimated rescue times (ms) behind the last review: hedging's and coding's.</summary>
    public (double Hedged, double Coded) Estimates { get; private set; }

    /// <summary>The extra calls auto may still send, and the parities it withheld to stay within its budget.</summary>
    public RedundancyLedger Ledger { get; }

    /// <summary>Which strategy answered queries; for the host's reconstruction label and tests.</summary>
    public bool IsCoding => Choice == _coder;

    protected override void Serve(ServedQuery<TAnswer> query)
    {
        if (_served == 0)
        {
            // The first choice is reported too, so that the metrics and the log show every group's mode.
            Observer.AutoChose(Choice, Why);
        }

        if (_served++ % ReviewEvery == 0 && _p50.Count > 0)
        {
            Review();
        }

        query.OnAnswered += _record;
        if (IsCoding)
        {
            _coded.Submit(query);
        }
        else
        {
            _hedged.Submit(query);
        }
    }

    private void Record(ServedQuery<TAnswer> query)
    {
        if (query.Answer is null)
        {
            return;
        }

        var ms = Time.GetElapsedTime(query.Started).TotalMilliseconds;
        _p50.Record(ms);
        _p90.Record(ms);
        _p95.Record(ms);
    }

    private void Review()
    {
        var p50 = _p50.Percentile(0);
        var hedged = _p95.Percentile(0) + p50;
        // Before any decode, assume one costs half an inference (the compact decoder's measured cost is a fraction of one).
        var decode = _observer.Decodes > 0 ? _observer.DecodeMeanMs : p50 / 2;
        var coded = _p90.Percentile(0) + decode;
        Estimates = (hedged, coded);
        var (choice, why) = HedgeOnly() is { } only
            ? ("hedged", only)
            : coded <= hedged
                ? (_coder, $"a late answer is rebuilt in ≈ {coded:0.##} ms (p90 {_p90.Percentile(0):0.##} + decode {decode:0.##}) against ≈ {hedged:0.##} ms by hedging (p95 + a re-run)")
                : ("hedged", $"a hedge answers a late query in ≈ {hedged:0.##} ms (p95 + a re-run) against ≈ {coded:0.##} ms by coding (p90 + decode {decode:0.##})");
        if (choice != Choice)
        {
            (Choice, Why) = (choice, why);
            Observer.AutoChose(choice, why);
        }
        else
        {
            Why = why;
        }
    }

    /// <summary>Passes everything on, timing the decodes and keeping the ledger on the way: a query's own call (one per
    /// query in either half, sent before its group can be sealed) earns the budget, an extra call pays one; a query
    /// refused before its call went out (no live worker) earns nothing.</summary>
    private sealed class AutoObserver(IServingObserver<TWorker> inner, RedundancyLedger ledger) : IServingObserver<TWorker>
    {
        public int Decodes { get; private set; }

        public double DecodeMeanMs { get; private set; }

        public void WorkerCallSent(CallRole role)
        {
            if (role == CallRole.Data)
            {
                ledger.Earn();
            }
            else
            {
                ledger.Pay();
            }

            inner.WorkerCallSent(role);
        }

        public void CallCompleted(TWorker worker, TimeSpan elapsed, bool succeeded) => inner.CallCompleted(worker, elapsed, succeeded);

        public void StragglerDetected() => inner.StragglerDetected();

        public IDisposable? Encoding(long groupId, int members) => inner.Encoding(groupId, members);

        public void GroupFormed(bool partial, bool parity) => inner.GroupFormed(partial, parity);

        public void MemberMissed(long groupId, int index, TWorker worker, bool failed) => inner.MemberMissed(groupId, index, worker, failed);

        public void MemberLost(long groupId, int index, string? reason) => inner.MemberLost(groupId, index, reason);

        public void DecodeFailed(long groupId, int index, Exception error) => inner.DecodeFailed(groupId, index, error);

        public void AutoChose(string mode, string why) => inner.AutoChose(mode, why);

        public void Decoded(TimeSpan elapsed)
        {
            Decodes++;
            // An exponentially weighted mean: recent decodes count most.
            DecodeMeanMs = Decodes == 1 ? elapsed.TotalMilliseconds : (0.9 * DecodeMeanMs) + (0.1 * elapsed.TotalMilliseconds);
            inner.Decoded(elapsed);
        }
    }
}
