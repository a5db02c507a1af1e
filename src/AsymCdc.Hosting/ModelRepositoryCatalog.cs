using AsymCdc.Abstractions;
using AsymCdc.Coding;
using AsymCdc.Grains;
using AsymCdc.Inference;

namespace AsymCdc.Hosting;

/// <summary>Adapts the inference layer's <see cref="ModelRepository"/> to the grains' <see cref="IModelCatalog"/>.</summary>
public sealed class ModelRepositoryCatalog : IModelCatalog
{
    private readonly ModelRepository _repository;
    private readonly Dictionary<string, CodedModel> _served = new(StringComparer.Ordinal);

    public ModelRepositoryCatalog(ModelRepository repository)
    {
        ArgumentNullException.ThrowIfNull(repository);
        _repository = repository;
        // Every worker call looks its model up: by name and by alias, once.
        foreach (var model in repository.Served)
        {
            _served[model.Name] = model;
            foreach (var alias in model.Aliases)
            {
                _served[alias] = model;
            }
        }
    }

    public IReadOnlyList<CodedModel> Served => _repository.Served;

    public CodedModel? FindServed(string name) => name is null ? null : _served.GetValueOrDefault(name);

    public IModelFunction Get(string name)
    {
        try
        {
            return _repository.Get(name);
        }
        catch (ModelRepositoryException e)
        {
            throw new PredictionException(PredictionErrorCode.UnknownModel, e.Message);
        }
    }

    public bool Contains(string name) => _repository.Contains(name);
}
