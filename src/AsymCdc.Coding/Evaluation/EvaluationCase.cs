namespace AsymCdc.Coding.Evaluation;

/// <summary>
/// One (decoder, k) cell of the degraded-mode evaluation. The parity each decoder expects follows from
/// its kind: exact and compact decode the mean parity served by the classifier, ApproxIFER the Berrut
/// parity served by the classifier, and ParM the sum served by its learned <paramref name="ParityModel"/>.
/// </summary>
/// <param name="Decoder">The decoder under test.</param>
/// <param name="K">Data queries per parity group.</param>
/// <param name="ParityModel">ParM's parity model f_P for this k (e.g. fmnist-parm-k2); required for ParM, not allowed otherwise.</param>
public sealed record EvaluationCase(IDecoder Decoder, int K, IModelFunction? ParityModel = null);
