using AsymCdc.Coding;

namespace AsymCdc.Serving;

/// <summary>A coded mode <c>auto</c> could code with for one model and k: what the model lacks for it (null: nothing)
/// and the agreement of its reconstructions with the model's own answers, as its decoder's config records it (null:
/// not recorded).</summary>
public sealed record CoderOption(string Mode, string? Missing, double? Agreement);

/// <summary>
/// Which coded mode <c>auto</c>'s coded half uses, chosen once per parity group from the model's decoders: the one whose
/// reconstruction is quickest among those faithful enough. ParM first (its decode is a subtraction, ≈ 0.03 ms in the
/// bench), then asymcdc-compact (a small network, ≈ 0.27 ms); the parity costs one inference either way. A decoder is
/// faithful enough when its recorded agreement with the model is at least the floor
/// (<c>AsymCdc:Serving:AutoMinAgreement</c>); a ParM parity model must record one, a compact decoder without one stays
/// eligible, so that a repository whose compact decoders predate the field keeps coding with them.
/// </summary>
public static class AutoCoding
{
    public const string Parm = "parm";
    public const string Compact = "asymcdc-compact";

    /// <summary>The default floor: the bar DESIGN §4 sets for the compact decoder's degraded accuracy at k = 2, applied to
    /// agreement with the model (what a reconstruction can be checked against in serving).</summary>
    public const double DefaultMinAgreement = 0.85;

    /// <summary>The largest group a decoder is trained for (a companion's config allows k up to 16).</summary>
    public const int MaxGroup = 16;

    /// <summary>The options of <paramref name="model"/> at <paramref name="k"/>, ParM's and the compact decoder's.</summary>
    public static IReadOnlyList<CoderOption> Options(CodedModel model, int k)
    {
        ArgumentNullException.ThrowIfNull(model);
        return
        [
            new(Parm, model.MissingFor(DecoderKind.Parm, k), model.Parity.TryGetValue(k, out var parity) ? model.AgreementOf(parity) : null),
            new(Compact, model.MissingFor(DecoderKind.Compact, k), model.Compact.TryGetValue(k, out var compact) ? model.AgreementOf(compact) : null),
        ];
    }

    /// <summary>The coded mode auto codes with, and why; <c>Coder</c> is null when none qualifies (auto then only hedges,
    /// and <c>Why</c> says what each option lacks).</summary>
    public static (string? Coder, string Why) Choose(IEnumerable<CoderOption> options, double minAgreement)
    {
        ArgumentNullException.ThrowIfNull(options);
        var rejected = new List<string>();
        foreach (var option in options.OrderBy(static o => o.Mode == Parm ? 0 : 1))
        {
            if (option.Missing is { } missing)
            {
                rejected.Add($"{option.Mode} needs {missing}");
            }
            else if (option.Agreement is { } agreement && agreement < minAgreement)
            {
                rejected.Add($"{option.Mode}'s reconstructions agree with the model {agreement:0.####}, below AutoMinAgreement {minAgreement:0.####}");
            }
            else if (option.Agreement is null && option.Mode != Compact)
            {
                rejected.Add($"{option.Mode}'s decoder records no agreement with the model (config.json \"agreement\")");
            }
            else
            {
                var faithful = option.Agreement is { } a ? $"agreement {a:0.####} ≥ {minAgreement:0.####}" : "agreement not recorded";
                return (option.Mode, rejected.Count == 0
                    ? $"codes with {option.Mode} ({faithful})"
                    : $"codes with {option.Mode} ({faithful}; {string.Join("; ", rejected)})");
            }
        }

        return (null, $"coding is not available for this model: {string.Join("; ", rejected)}");
    }

    /// <summary>
    /// The group size and coded mode auto codes with: the smallest k' from <paramref name="k"/> up to
    /// <paramref name="maxK"/> whose one parity per k' queries fits the redundancy budget (null: 1/k) and for which
    /// <see cref="Choose"/> finds a decoder. A budget below 1/k so buys coding with larger groups rather than none, and a
    /// model without a decoder auto may use at k is coded at the next k' that has one. <c>Coder</c> is null when no k'
    /// qualifies; <c>Why</c> is then null when no k' fits the budget at all (auto says so itself), else what k lacks.
    /// </summary>
    public static (int K, string? Coder, string? Why) ChooseGroup(int k, double? budget, int maxK, Func<int, IEnumerable<CoderOption>> optionsAt,
        double minAgreement)
    {
        ArgumentNullException.ThrowIfNull(optionsAt);
        var limit = budget ?? 1.0 / k;
        maxK = Math.Min(maxK, MaxGroup);
        (int K, string Why)? lacking = null;
        for (var g = k; g <= Math.Max(k, maxK); g++)
        {
            if (1.0 / g > limit + 1e-9)
            {
                continue;
            }

            var (coder, why) = Choose(optionsAt(g), minAgreement);
            if (coder is not null)
            {
                return (g, coder, g == k
                    ? why
                    : lacking is { } at
                        ? $"{why} at k = {g}; at k = {at.K} {at.Why}"
                        : $"{why} at k = {g}, the smallest group whose 1/{g} extra calls per query fit the redundancy budget {limit:0.###}");
            }

            lacking ??= (g, why);
        }

        return (k, null, lacking is { } none ? (none.K == k ? none.Why : $"at k = {none.K} {none.Why}") + (maxK > none.K ? $", nor at any k up to {maxK}" : "") : null);
    }

    /// <summary>The parity encoder of a coded mode auto may use.</summary>
    public static ParityEncoder EncoderOf(string coder) => coder switch
    {
        Parm => SumEncoder.Encode,
        Compact => MeanEncoder.Encode,
        _ => throw new ArgumentException($"auto codes with {Parm} or {Compact}, not '{coder}'", nameof(coder)),
    };
}
